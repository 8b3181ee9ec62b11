#!/usr/bin/env bash
# Generates the webhook's serving certificate with openssl: a CA, and a certificate for the
# Service DNS names signed by it. Prints the caBundle; with --apply it also creates the TLS Secret
# and patches the caBundle into both webhook configurations of the current kubectl context.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: webhook/gen-certs.sh [options]

  --out DIR          where to write ca.crt, ca.key, tls.crt, tls.key (default ./mesh-cert-webhook-certs)
  --namespace NS     the webhook's namespace (default mesh-cert-system)
  --service NAME     the webhook's Service (default mesh-cert-webhook)
  --days N           validity of the serving certificate (default 365; the CA gets 10 years)
  --san SAN          an extra subjectAltName, e.g. IP:127.0.0.1 or DNS:localhost (repeatable)
  --reuse-ca         keep an existing ca.crt/ca.key in --out (rotate the serving cert only)
  --apply            create/update Secret <service>-tls and patch caBundle into the
                     MutatingWebhookConfiguration and ValidatingWebhookConfiguration <service>
  --context CTX      kubectl context for --apply
  -h, --help         this help
USAGE
}

out=./mesh-cert-webhook-certs
ns=mesh-cert-system
svc=mesh-cert-webhook
days=365
apply=false
reuse_ca=false
context=()
extra_sans=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --namespace) ns="$2"; shift 2 ;;
    --service) svc="$2"; shift 2 ;;
    --days) days="$2"; shift 2 ;;
    --san) extra_sans+=("$2"); shift 2 ;;
    --reuse-ca) reuse_ca=true; shift ;;
    --apply) apply=true; shift ;;
    --context) context=(--context "$2"); shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "gen-certs.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$days" =~ ^[0-9]+$ ]] || { echo "gen-certs.sh: --days: expected a number of days, got '$days'" >&2; exit 2; }

mkdir -p "$out"
umask 077
if [[ "$reuse_ca" != true || ! -s "$out/ca.crt" || ! -s "$out/ca.key" ]]; then
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
    -keyout "$out/ca.key" -out "$out/ca.crt" -subj "/O=mesh-cert/CN=mesh-cert-webhook-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi

sans="DNS:${svc},DNS:${svc}.${ns},DNS:${svc}.${ns}.svc,DNS:${svc}.${ns}.svc.cluster.local"
for s in "${extra_sans[@]+"${extra_sans[@]}"}"; do sans="${sans},${s}"; done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/ext.cnf" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=${sans}
EXT
openssl req -new -newkey rsa:2048 -nodes -keyout "$tmp/tls.key" -out "$tmp/tls.csr" -subj "/O=mesh-cert/CN=${svc}.${ns}.svc" 2>/dev/null
openssl x509 -req -sha256 -days "$days" -in "$tmp/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
  -set_serial "0x$(openssl rand -hex 16)" -extfile "$tmp/ext.cnf" -out "$tmp/tls.crt" 2>/dev/null
openssl verify -CAfile "$out/ca.crt" "$tmp/tls.crt" >/dev/null
# Replace both files by rename, so a running webhook watching --out never reads a half-written pair.
chmod 644 "$out/ca.crt" "$tmp/tls.crt"  # certificates are public; the keys stay 600
mv "$tmp/tls.key" "$out/tls.key.new" && mv "$tmp/tls.crt" "$out/tls.crt.new"
mv "$out/tls.key.new" "$out/tls.key" && mv "$out/tls.crt.new" "$out/tls.crt"

ca_bundle=$(base64 <"$out/ca.crt" | tr -d '\n')
echo "wrote $out/ca.crt, $out/tls.crt, $out/tls.key (SANs: ${sans})" >&2

if [[ "$apply" == true ]]; then
  kubectl "${context[@]+"${context[@]}"}" -n "$ns" create secret tls "${svc}-tls" --cert="$out/tls.crt" --key="$out/tls.key" \
    --dry-run=client -o yaml | kubectl "${context[@]+"${context[@]}"}" apply -f -
  for kind in mutatingwebhookconfiguration validatingwebhookconfiguration; do
    count=$(kubectl "${context[@]+"${context[@]}"}" get "$kind" "$svc" -o jsonpath='{range .webhooks[*]}x{end}')
    patch="["
    for ((i = 0; i < ${#count}; i++)); do
      [[ $i -gt 0 ]] && patch+=","
      patch+="{\"op\":\"add\",\"path\":\"/webhooks/$i/clientConfig/caBundle\",\"value\":\"${ca_bundle}\"}"
    done
    patch+="]"
    kubectl "${context[@]+"${context[@]}"}" patch "$kind" "$svc" --type=json -p "$patch"
  done
fi
echo "caBundle: ${ca_bundle}"
