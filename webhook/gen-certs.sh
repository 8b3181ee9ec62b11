#!/usr/bin/env bash
# Generates the webhook's serving certificate with openssl: a CA, and a certificate for the
# Service DNS names signed by it. Prints the caBundle; with --apply it also creates the TLS Secret
# and patches the caBundle into both webhook configurations of the current kubectl context.
# Also the other direction: a client CA (the webhook's --client-ca-file), a client certificate
# for kube-apiserver signed by it, and the two files the apiserver reads to present it (a
# kubeconfig and an AdmissionConfiguration; see webhook/README.md, "Client authentication").
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: webhook/gen-certs.sh [options]

  --out DIR          where to write ca.crt, ca.key, tls.crt, tls.key (default ./mesh-cert-webhook-certs)
  --namespace NS     the webhook's namespace (default mesh-cert-system)
  --service NAME     the webhook's Service (default mesh-cert-webhook)
  --days N           validity of the serving certificate (default 365; the CA gets 10 years)
  --san SAN          an extra subjectAltName, e.g. IP:127.0.0.1 or DNS:localhost (repeatable)
  --key-type TYPE    ecdsa (P-256, the default) or rsa (2048 bits), for the CAs and certificates;
                     an ECDSA handshake costs the webhook a tenth of an RSA one
  --reuse-ca         keep an existing ca.crt/ca.key and client-ca.crt/client-ca.key in --out
                     (rotate the serving and apiserver client certificates only)
  --kubeconfig-dir D where the apiserver will find the files below on its host, for the path
                     written into admission-configuration.yaml (default /etc/kubernetes/mesh-cert)
  --webhook-host H   the host the apiserver calls, as its kubeconfig names it: the Service's
                     <service>.<namespace>.svc (the default), or HOST:PORT of a clientConfig.url
  --apply            create/update Secret <service>-tls and ConfigMap <service>-client-ca, and
                     patch caBundle into the MutatingWebhookConfiguration and
                     ValidatingWebhookConfiguration <service>
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
key_type=ecdsa
kubeconfig_dir=/etc/kubernetes/mesh-cert
webhook_host=
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
    --key-type) key_type="$2"; shift 2 ;;
    --kubeconfig-dir) kubeconfig_dir="$2"; shift 2 ;;
    --webhook-host) webhook_host="$2"; shift 2 ;;
    --apply) apply=true; shift ;;
    --context) context=(--context "$2"); shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "gen-certs.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$days" =~ ^[0-9]+$ ]] || { echo "gen-certs.sh: --days: expected a number of days, got '$days'" >&2; exit 2; }
case "$key_type" in
  ecdsa) newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256); key_usage="digitalSignature" ;;
  rsa) newkey=(-newkey rsa:2048); key_usage="digitalSignature,keyEncipherment" ;;
  *) echo "gen-certs.sh: --key-type: expected ecdsa or rsa, got '$key_type'" >&2; exit 2 ;;
esac

mkdir -p "$out"
umask 077
for ca in ca client-ca; do
  if [[ "$reuse_ca" != true || ! -s "$out/$ca.crt" || ! -s "$out/$ca.key" ]]; then
    cn=mesh-cert-webhook-ca
    [[ $ca == client-ca ]] && cn=mesh-cert-webhook-client-ca
    openssl req -x509 "${newkey[@]}" -nodes -sha256 -days 3650 \
      -keyout "$out/$ca.key" -out "$out/$ca.crt" -subj "/O=mesh-cert/CN=$cn" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  fi
done

sans="DNS:${svc},DNS:${svc}.${ns},DNS:${svc}.${ns}.svc,DNS:${svc}.${ns}.svc.cluster.local"
for s in "${extra_sans[@]+"${extra_sans[@]}"}"; do sans="${sans},${s}"; done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/ext.cnf" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,${key_usage}
extendedKeyUsage=serverAuth
subjectAltName=${sans}
EXT
openssl req -new "${newkey[@]}" -nodes -keyout "$tmp/tls.key" -out "$tmp/tls.csr" -subj "/O=mesh-cert/CN=${svc}.${ns}.svc" 2>/dev/null
openssl x509 -req -sha256 -days "$days" -in "$tmp/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
  -set_serial "0x$(openssl rand -hex 16)" -extfile "$tmp/ext.cnf" -out "$tmp/tls.crt" 2>/dev/null
openssl verify -CAfile "$out/ca.crt" "$tmp/tls.crt" >/dev/null
# Replace both files by rename, so a running webhook watching --out never reads a half-written pair.
chmod 644 "$out/ca.crt" "$tmp/tls.crt"  # certificates are public; the keys stay 600
mv "$tmp/tls.key" "$out/tls.key.new" && mv "$tmp/tls.crt" "$out/tls.crt.new"
mv "$out/tls.key.new" "$out/tls.key" && mv "$out/tls.crt.new" "$out/tls.crt"

# kube-apiserver's client certificate, and how it presents it: the apiserver picks the user of
# its AdmissionConfiguration's kubeconfig whose name is the webhook's host (the Service's DNS
# name; ":port" added for a port other than 443), then '*'.
cat >"$tmp/client.cnf" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,${key_usage}
extendedKeyUsage=clientAuth
EXT
openssl req -new "${newkey[@]}" -nodes -keyout "$tmp/client.key" -out "$tmp/client.csr" -subj "/O=mesh-cert/CN=kube-apiserver-mesh-cert-webhook-client" 2>/dev/null
openssl x509 -req -sha256 -days "$days" -in "$tmp/client.csr" -CA "$out/client-ca.crt" -CAkey "$out/client-ca.key" \
  -set_serial "0x$(openssl rand -hex 16)" -extfile "$tmp/client.cnf" -out "$tmp/client.crt" 2>/dev/null
openssl verify -CAfile "$out/client-ca.crt" "$tmp/client.crt" >/dev/null
chmod 644 "$out/client-ca.crt" "$tmp/client.crt"
mv "$tmp/client.key" "$out/apiserver-client.key" && mv "$tmp/client.crt" "$out/apiserver-client.crt"
b64() { base64 <"$1" | tr -d '\n'; }
cat >"$out/apiserver-webhook-kubeconfig.yaml" <<KC
# For kube-apiserver (AdmissionConfiguration kubeConfigFile): the client certificate it presents
# to the mesh-cert webhook. Keep it on the control-plane hosts only (it holds a private key).
apiVersion: v1
kind: Config
users:
  - name: ${webhook_host:-${svc}.${ns}.svc}
    user:
      client-certificate-data: $(b64 "$out/apiserver-client.crt")
      client-key-data: $(b64 "$out/apiserver-client.key")
KC
cat >"$out/admission-configuration.yaml" <<AC
# kube-apiserver --admission-control-config-file: merge these two plugins into your own file if
# you have one. The kubeconfig is $kubeconfig_dir/apiserver-webhook-kubeconfig.yaml on each
# control-plane host (copy it there from this folder).
apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
  - name: ValidatingAdmissionWebhook
    configuration:
      apiVersion: apiserver.config.k8s.io/v1
      kind: WebhookAdmissionConfiguration
      kubeConfigFile: $kubeconfig_dir/apiserver-webhook-kubeconfig.yaml
  - name: MutatingAdmissionWebhook
    configuration:
      apiVersion: apiserver.config.k8s.io/v1
      kind: WebhookAdmissionConfiguration
      kubeConfigFile: $kubeconfig_dir/apiserver-webhook-kubeconfig.yaml
AC
chmod 600 "$out/apiserver-webhook-kubeconfig.yaml"
chmod 644 "$out/admission-configuration.yaml"

ca_bundle=$(base64 <"$out/ca.crt" | tr -d '\n')
echo "wrote $out/ca.crt, $out/tls.crt, $out/tls.key (SANs: ${sans}); $out/client-ca.crt, $out/apiserver-client.crt, $out/apiserver-client.key, $out/apiserver-webhook-kubeconfig.yaml, $out/admission-configuration.yaml (key type ${key_type})" >&2

if [[ "$apply" == true ]]; then
  kubectl "${context[@]+"${context[@]}"}" -n "$ns" create secret tls "${svc}-tls" --cert="$out/tls.crt" --key="$out/tls.key" \
    --dry-run=client -o yaml | kubectl "${context[@]+"${context[@]}"}" apply -f -
  kubectl "${context[@]+"${context[@]}"}" -n "$ns" create configmap "${svc}-client-ca" --from-file=ca.crt="$out/client-ca.crt" \
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
