import { beforeAll, describe, expect, it } from 'vitest';
import {
  KINDS,
  ROTATION_STATES,
  canonicalRotationState,
  formatFieldError,
  jsonEqual,
  kindByResource,
  kindInfo,
  kindInfoOf,
  validateObject,
  type FieldError,
} from '#schemas/src/index.js';
import { b64, makePki, type Pki } from './fixtures.js';
import { GLOO, validObjects, type Obj } from './objects.js';

let pki: Pki;
let valid: Record<string, Obj[]>;
beforeAll(() => {
  pki = makePki();
  valid = validObjects(pki);
});

const clone = <T>(o: T): T => structuredClone(o);

describe('registry', () => {
  it('knows every kind by apiVersion/kind and by resource', () => {
    expect(KINDS.map((k) => k.kind)).toEqual([
      'IssuedCertificate',
      'CertificateRequest',
      'CertificateRotation',
      'PodBounceDirective',
      'VirtualMeshCertificateSigningRequest',
    ]);
    for (const k of KINDS) {
      expect(kindInfo(`${k.group}/${k.version}`, k.kind)).toBe(k);
      expect(kindInfoOf(k.group, k.version, k.kind)).toBe(k);
      expect(kindInfoOf(k.group, 'v2', k.kind)).toBeUndefined();
      expect(kindByResource(k.group, k.version, k.plural)).toBe(k);
      expect(k.plural).toBe(`${k.kind.toLowerCase()}s`);
    }
    expect(kindInfo('certificates.mesh.gloo.solo.io/v1alpha2', 'IssuedCertificate')).toBeUndefined();
    expect(kindByResource('security.zephyr.solo.io', 'v1alpha1', 'virtualmeshcertificatesigningrequests')?.kind).toBe(
      'VirtualMeshCertificateSigningRequest',
    );
    expect(kindByResource('certificates.mesh.gloo.solo.io', 'v1', 'certificates')).toBeUndefined();
  });
});

describe('jsonEqual', () => {
  it('compares JSON values by structure, ignoring key order and undefined keys', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1, u: undefined }, { a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, u: undefined })).toBe(true);
    expect(jsonEqual(null, null)).toBe(true);
    for (const [a, b] of [
      [{ a: 1 }, { a: 1, b: 2 }],
      [{ a: 1, b: 2 }, { a: 1 }],
      [
        { a: 1, b: undefined },
        { a: 1, c: 2 },
      ],
      [
        [1, 2],
        [2, 1],
      ],
      [[1], { 0: 1 }],
      [{ 0: 1 }, [1]],
      [{}, null],
      [null, {}],
      ['1', 1],
      [{ a: { b: [1] } }, { a: { b: [1, 2] } }],
      [{ a: 1 }, { b: 1 }],
    ] as const) {
      expect(jsonEqual(a, b), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(false);
    }
  });

  it('agrees with comparing key-sorted JSON text on random values', () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const gen = (d: number): unknown => {
      const t = rnd(d > 3 ? 3 : 6);
      if (t === 0) return rnd(3);
      if (t === 1) return ['a', 'b', ''][rnd(3)];
      if (t === 2) return rnd(2) === 0 ? null : true;
      if (t === 3) return Array.from({ length: rnd(3) }, () => gen(d + 1));
      return Object.fromEntries(Array.from({ length: rnd(3) }, () => [['x', 'y', 'z'][rnd(3)], gen(d + 1)]));
    };
    const canon = (v: unknown): string =>
      Array.isArray(v)
        ? `[${v.map(canon).join(',')}]`
        : v && typeof v === 'object'
          ? `{${Object.keys(v)
              .sort()
              .map((k) => `${k}:${canon((v as Record<string, unknown>)[k])}`)
              .join(',')}}`
          : JSON.stringify(v);
    let equal = 0;
    for (let i = 0; i < 3000; i++) {
      const a = gen(0);
      const b = rnd(3) === 0 ? structuredClone(a) : gen(0);
      expect(jsonEqual(a, b)).toBe(canon(a) === canon(b));
      if (canon(a) === canon(b)) equal++;
    }
    expect(equal).toBeGreaterThan(500);
  });
});

describe('valid objects pass', () => {
  it('has valid examples for every kind', () => {
    for (const k of KINDS) expect(valid[k.kind]!.length, k.kind).toBeGreaterThan(0);
  });
  for (const kind of KINDS.map((k) => k.kind)) {
    it(`${kind}: every example is valid`, () => {
      for (const obj of valid[kind]!)
        expect(validateObject(obj).map(formatFieldError), JSON.stringify(obj.metadata)).toEqual([]);
    });
  }
});

describe('every value the protos allow is valid (rule zero: Gloo Mesh writes them)', () => {
  // Each case was denied before issue 15; out-of-policy ones now earn warnings (policy.ts) instead.
  const ADMITTED: [name: string, kind: string, mutate: (o: Obj) => void][] = [
    ['rsaKeySizeBytes 8192', 'IssuedCertificate', (o) => (o.spec.certOptions.rsaKeySizeBytes = 8192)],
    ['rsaKeySizeBytes 1024', 'IssuedCertificate', (o) => (o.spec.certOptions.rsaKeySizeBytes = 1024)],
    ['rsaKeySizeBytes uint32 max', 'IssuedCertificate', (o) => (o.spec.certOptions.rsaKeySizeBytes = 4294967295)],
    ['ttlDays 40000', 'IssuedCertificate', (o) => (o.spec.certOptions.ttlDays = 40000)],
    ['ttlDays uint32 max', 'IssuedCertificate', (o) => (o.spec.certOptions.ttlDays = 4294967295)],
    ['grace ratio 1.5', 'IssuedCertificate', (o) => (o.spec.certOptions.secretRotationGracePeriodRatio = 1.5)],
    ['grace ratio negative', 'IssuedCertificate', (o) => (o.spec.certOptions.secretRotationGracePeriodRatio = -0.5)],
    [
      '2000 hosts of 2 KB',
      'IssuedCertificate',
      (o) =>
        (o.spec.hosts = Array.from(
          { length: 2000 },
          (_, i) => `spiffe://cluster.local/ns/n${i}/sa/${'s'.repeat(2048)}`,
        )),
    ],
    [
      'org and orgName of 100 characters',
      'IssuedCertificate',
      (o) => ((o.spec.org = 'o'.repeat(100)), (o.spec.certOptions.orgName = 'o'.repeat(100))),
    ],
    ['an error of 100 KB', 'IssuedCertificate', (o) => (o.status.error = 'e'.repeat(100_000))],
    [
      'NOT_APPLICABLE, the rotation branch name of NOT_ROTATING',
      'IssuedCertificate',
      (o) => ((o.spec.rotationState = 'NOT_APPLICABLE'), (o.status.observedRotationState = 'NOT_APPLICABLE')),
    ],
    [
      'kubernetesAuth without role (proto3 optional)',
      'IssuedCertificate',
      (o) => {
        delete o.spec.glooMeshCa;
        o.spec.agentCa = {
          vault: {
            server: 'https://vault:8200',
            kubernetesAuth: { mountedSaPath: '/var/run/secrets/kubernetes.io/serviceaccount/token' },
          },
        };
      },
    ],
    [
      '150 selectors with 200 labels each',
      'PodBounceDirective',
      (o) =>
        (o.spec.podsToBounce = Array.from({ length: 150 }, (_, i) => ({
          namespace: `ns-${i}`,
          labels: Object.fromEntries(Array.from({ length: 200 }, (_, j) => [`k${j}`, `v${i}`])),
        }))),
    ],
    ['waitForReplicas 100000', 'PodBounceDirective', (o) => (o.spec.podsToBounce[0].waitForReplicas = 100000)],
    [
      '1500 bounced pods for 150 selectors',
      'PodBounceDirective',
      (o) =>
        (o.status.podsBounced = Array.from({ length: 150 }, (_, i) => ({
          bouncedPods: Array.from({ length: 10 }, (_, j) => `pod-${i}-${j}`),
        }))),
    ],
    [
      '1500 bounced pods for one selector',
      'PodBounceDirective',
      (o) => (o.status.podsBounced = [{ bouncedPods: Array.from({ length: 1500 }, (_, j) => `istiod-${j}`) }]),
    ],
    [
      'certChain as Gloo Mesh v1.1 writes it',
      'CertificateRequest',
      (o) => (o.status.certChain = b64(pki.signedByMid + pki.midCert + pki.rootCert)),
    ],
    [
      'a condition with 100 errors, NOT_APPLICABLE',
      'CertificateRotation',
      (o) =>
        (o.status.conditions[0] = { state: 'NOT_APPLICABLE', errors: Array.from({ length: 100 }, (_, i) => `e${i}`) }),
    ],
    [
      'zephyr org of 100 characters',
      'VirtualMeshCertificateSigningRequest',
      (o) => (o.spec.certConfig.org = 'o'.repeat(100)),
    ],
  ];
  for (const [name, kind, mutate] of ADMITTED) {
    it(`${kind}: ${name}`, () => {
      const obj = clone(valid[kind]![0]!);
      mutate(obj);
      expect(validateObject(obj).map(formatFieldError)).toEqual([]);
    });
  }
});

describe('rotation state names', () => {
  it('reads every name any version wrote as the contract name; a missing value is the zero value', () => {
    expect(canonicalRotationState('NOT_APPLICABLE')).toBe('NOT_ROTATING');
    expect(canonicalRotationState('NOT_ROTATING')).toBe('NOT_ROTATING');
    expect(canonicalRotationState(undefined)).toBe('NOT_ROTATING');
    expect(canonicalRotationState('ADDING_NEW_ROOT')).toBe('ADDING_NEW_ROOT');
    expect(canonicalRotationState(0)).toBeUndefined();
    expect(canonicalRotationState('toString')).toBeUndefined();
    expect(ROTATION_STATES[0]).toBe('NOT_ROTATING');
    expect(ROTATION_STATES).not.toContain('NOT_APPLICABLE');
  });
});

type Case = [
  name: string,
  kind: string,
  mutate: (o: Obj) => void,
  path: string,
  type: FieldError['type'],
  message: RegExp,
];

// Each case breaks one field of the first valid example of its kind and names the exact error.
const CASES: Case[] = [
  [
    'enum as integer',
    'IssuedCertificate',
    (o) => (o.status.state = 3),
    'status.state',
    'Unsupported',
    /^must be one of PENDING, REQUESTED, ISSUED, FINISHED, FAILED$/,
  ],
  [
    'unknown enum name',
    'IssuedCertificate',
    (o) => (o.status.state = 'DONE'),
    'status.state',
    'Unsupported',
    /must be one of PENDING/,
  ],
  [
    'rotation state as integer',
    'IssuedCertificate',
    (o) => (o.spec.rotationState = 2),
    'spec.rotationState',
    'Unsupported',
    /must be one of NOT_ROTATING, PREVIOUS_CA/,
  ],
  [
    'zero rotation state as integer',
    'IssuedCertificate',
    (o) => (o.status.observedRotationState = 0),
    'status.observedRotationState',
    'Unsupported',
    /NOT_APPLICABLE$/,
  ],
  [
    'string for uint32',
    'IssuedCertificate',
    (o) => (o.spec.certOptions.ttlDays = '365'),
    'spec.certOptions.ttlDays',
    'Invalid',
    /^must be an integer$/,
  ],
  [
    'negative ttl',
    'IssuedCertificate',
    (o) => (o.spec.certOptions.ttlDays = -1),
    'spec.certOptions.ttlDays',
    'Invalid',
    /^must be >= 0$/,
  ],
  // uint32: the proto's range, no narrower (policy values earn warnings in policy.ts).
  [
    'ttl above uint32',
    'IssuedCertificate',
    (o) => (o.spec.certOptions.ttlDays = 4294967296),
    'spec.certOptions.ttlDays',
    'Invalid',
    /^must be <= 4294967295$/,
  ],
  [
    'key size above uint32',
    'IssuedCertificate',
    (o) => (o.spec.certOptions.rsaKeySizeBytes = 2 ** 32),
    'spec.certOptions.rsaKeySizeBytes',
    'Invalid',
    /^must be <= 4294967295$/,
  ],
  [
    'fractional key size',
    'IssuedCertificate',
    (o) => (o.spec.certOptions.rsaKeySizeBytes = 2048.5),
    'spec.certOptions.rsaKeySizeBytes',
    'Invalid',
    /^must be an integer$/,
  ],
  [
    'ratio as a string',
    'IssuedCertificate',
    (o) => (o.spec.certOptions.secretRotationGracePeriodRatio = '0.1'),
    'spec.certOptions.secretRotationGracePeriodRatio',
    'Invalid',
    /^must be a number$/,
  ],
  [
    'empty host',
    'IssuedCertificate',
    (o) => (o.spec.hosts = ['a', 'b', '']),
    'spec.hosts[2]',
    'Required',
    /must not be empty/,
  ],
  [
    'host not a string',
    'IssuedCertificate',
    (o) => (o.spec.hosts = ['a', 7]),
    'spec.hosts[1]',
    'Invalid',
    /must be a string/,
  ],
  ['org not a string', 'IssuedCertificate', (o) => (o.spec.org = 7), 'spec.org', 'Invalid', /must be a string/],
  [
    'kubernetesAuth unknown field',
    'IssuedCertificate',
    (o) => ((o.spec.agentCa = { vault: { kubernetesAuth: { roleName: 'x' } } }), delete o.spec.glooMeshCa),
    'spec.agentCa.vault.kubernetesAuth.roleName',
    'Forbidden',
    /not declared/,
  ],
  [
    'unknown spec field',
    'IssuedCertificate',
    (o) => (o.spec.signingSecret = {}),
    'spec.signingSecret',
    'Forbidden',
    /field not declared in schema/,
  ],
  ['unknown top-level field', 'IssuedCertificate', (o) => (o.data = {}), 'data', 'Forbidden', /not declared/],
  [
    'unknown nested field',
    'IssuedCertificate',
    (o) => (o.spec.certOptions.org = 'x'),
    'spec.certOptions.org',
    'Forbidden',
    /not declared/,
  ],
  [
    'both CAs',
    'IssuedCertificate',
    (o) => (o.spec.agentCa = { vault: {} }),
    'spec.agentCa',
    'Forbidden',
    /may not be set together with spec\.glooMeshCa/,
  ],
  [
    'both applied CAs',
    'IssuedCertificate',
    (o) => (o.status.appliedAgentCa = {}),
    'status.appliedAgentCa',
    'Forbidden',
    /at most one of appliedGlooMeshCa, appliedAgentCa/,
  ],
  [
    'ref without name',
    'IssuedCertificate',
    (o) => (o.spec.issuedCertificateSecret = { namespace: 'x' }),
    'spec.issuedCertificateSecret.name',
    'Required',
    /must be set/,
  ],
  [
    'ref with bad name',
    'IssuedCertificate',
    (o) => (o.spec.issuedCertificateSecret.name = 'Cacerts_1'),
    'spec.issuedCertificateSecret.name',
    'Invalid',
    /RFC 1123 subdomain/,
  ],
  [
    'ref with bad namespace',
    'IssuedCertificate',
    (o) => (o.spec.podBounceDirective.namespace = 'a.b'),
    'spec.podBounceDirective.namespace',
    'Invalid',
    /RFC 1123 label/,
  ],
  [
    'negative observedGeneration',
    'IssuedCertificate',
    (o) => (o.status.observedGeneration = -1),
    'status.observedGeneration',
    'Invalid',
    />= 0/,
  ],
  [
    'fractional observedGeneration',
    'IssuedCertificate',
    (o) => (o.status.observedGeneration = 1.5),
    'status.observedGeneration',
    'Invalid',
    /integer/,
  ],
  [
    'wrong apiVersion',
    'IssuedCertificate',
    (o) => (o.apiVersion = 'certificates.mesh.gloo.solo.io/v1alpha2'),
    'kind',
    'Unsupported',
    /must be one of certificates\.mesh\.gloo\.solo\.io\/v1 IssuedCertificate/,
  ],
  [
    'bad metadata.name',
    'IssuedCertificate',
    (o) => (o.metadata.name = 'UPPER'),
    'metadata.name',
    'Invalid',
    /subdomain/,
  ],
  [
    'label value not a string',
    'IssuedCertificate',
    (o) => (o.metadata.labels.x = 1),
    'metadata.labels[x]',
    'Invalid',
    /string/,
  ],
  [
    'CSR field holds a certificate',
    'CertificateRequest',
    (o) => (o.spec.certificateSigningRequest = b64(pki.rootCert)),
    'spec.certificateSigningRequest',
    'Invalid',
    /only CERTIFICATE REQUEST PEM blocks, found CERTIFICATE$/,
  ],
  [
    'CSR field holds raw PEM',
    'CertificateRequest',
    (o) => (o.spec.certificateSigningRequest = pki.csr),
    'spec.certificateSigningRequest',
    'Invalid',
    /standard base64/,
  ],
  [
    'CSR field holds two CSRs',
    'CertificateRequest',
    (o) => (o.spec.certificateSigningRequest = b64(pki.csr + pki.otherCsr)),
    'spec.certificateSigningRequest',
    'Invalid',
    /exactly one CERTIFICATE REQUEST PEM block, found 2/,
  ],
  [
    'CSR field holds text',
    'CertificateRequest',
    (o) => (o.spec.certificateSigningRequest = b64('hello')),
    'spec.certificateSigningRequest',
    'Invalid',
    /no PEM block found/,
  ],
  [
    'private key next to a CSR',
    'CertificateRequest',
    (o) => (o.spec.certificateSigningRequest = b64(pki.csr + pki.privateKey)),
    'spec.certificateSigningRequest',
    'Invalid',
    /^must not contain a private key$/,
  ],
  [
    'certificate field holds a CSR',
    'CertificateRequest',
    (o) => (o.status.signedCertificate = b64(pki.csr)),
    'status.signedCertificate',
    'Invalid',
    /only CERTIFICATE PEM blocks, found CERTIFICATE REQUEST/,
  ],
  [
    'corrupt PEM body',
    'CertificateRequest',
    (o) => (o.status.signingRootCa = b64(pki.rootCert.replace(/\n[A-Za-z0-9+/]{10}/, '\n!!!!!!!!!!'))),
    'status.signingRootCa',
    'Invalid',
    /not base64/,
  ],
  [
    'chain holds a CSR',
    'CertificateRequest',
    (o) => (o.status.certChain = b64(pki.signedByRoot + pki.csr)),
    'status.certChain',
    'Invalid',
    /found CERTIFICATE REQUEST/,
  ],
  [
    'IssuedCertificate state on a CertificateRequest',
    'CertificateRequest',
    (o) => (o.status.state = 'ISSUED'),
    'status.state',
    'Unsupported',
    /^must be one of PENDING, FINISHED, FAILED$/,
  ],
  [
    'bytes as a number',
    'CertificateRequest',
    (o) => (o.spec.certificateSigningRequest = 5),
    'spec.certificateSigningRequest',
    'Invalid',
    /must be a string/,
  ],
  [
    'condition timestamp',
    'CertificateRotation',
    (o) => (o.status.conditions[1].timestamp = 'yesterday'),
    'status.conditions[1].timestamp',
    'Invalid',
    /RFC 3339/,
  ],
  [
    'condition state',
    'CertificateRotation',
    (o) => (o.status.conditions[0].state = 'ROTATING'),
    'status.conditions[0].state',
    'Unsupported',
    /NOT_ROTATING/,
  ],
  [
    'condition errors item',
    'CertificateRotation',
    (o) => (o.status.conditions[0].errors = ['ok', { e: 1 }]),
    'status.conditions[0].errors[1]',
    'Invalid',
    /string/,
  ],
  [
    'rotation state as number',
    'CertificateRotation',
    (o) => (o.status.state = 1),
    'status.state',
    'Unsupported',
    /PENDING, ROTATING, VERIFYING, FINISHED, FAILED/,
  ],
  [
    'virtualMesh extra field',
    'CertificateRotation',
    (o) => (o.spec.virtualMesh.cluster = 'c1'),
    'spec.virtualMesh.cluster',
    'Forbidden',
    /not declared/,
  ],
  [
    'label value number',
    'PodBounceDirective',
    (o) => (o.spec.podsToBounce[0].labels['app.kubernetes.io/name'] = 5),
    'spec.podsToBounce[0].labels[app.kubernetes.io/name]',
    'Invalid',
    /string/,
  ],
  [
    'waitForReplicas negative',
    'PodBounceDirective',
    (o) => (o.spec.podsToBounce[1].waitForReplicas = -2),
    'spec.podsToBounce[1].waitForReplicas',
    'Invalid',
    />= 0/,
  ],
  [
    'rootCertSync unknown field',
    'PodBounceDirective',
    (o) => (o.spec.podsToBounce[0].rootCertSync.key = 'x'),
    'spec.podsToBounce[0].rootCertSync.key',
    'Forbidden',
    /not declared/,
  ],
  [
    'bounced pod not a string',
    'PodBounceDirective',
    (o) => o.status.podsBounced[0].bouncedPods.push(3),
    'status.podsBounced[0].bouncedPods[1]',
    'Invalid',
    /string/,
  ],
  [
    'meshType unknown',
    'VirtualMeshCertificateSigningRequest',
    (o) => (o.spec.certConfig.meshType = 'KUMA'),
    'spec.certConfig.meshType',
    'Unsupported',
    /^must be one of ISTIO, APPMESH, CONSUL, LINKERD$/,
  ],
  [
    'approval as integer',
    'VirtualMeshCertificateSigningRequest',
    (o) => (o.status.thirdPartyApproval.approvalStatus = 1),
    'status.thirdPartyApproval.approvalStatus',
    'Unsupported',
    /PENDING, APPROVED, DENIED/,
  ],
  [
    'approval time',
    'VirtualMeshCertificateSigningRequest',
    (o) => (o.status.thirdPartyApproval.lastUpdatedTime = '2026-13-45'),
    'status.thirdPartyApproval.lastUpdatedTime',
    'Invalid',
    /RFC 3339/,
  ],
  [
    'response holds a CSR',
    'VirtualMeshCertificateSigningRequest',
    (o) => (o.status.response.caCertificate = b64(pki.csr)),
    'status.response.caCertificate',
    'Invalid',
    /found CERTIFICATE REQUEST/,
  ],
  [
    'computed state',
    'VirtualMeshCertificateSigningRequest',
    (o) => (o.status.computedStatus.state = 'OK'),
    'status.computedStatus.state',
    'Unsupported',
    /UNKNOWN, ACCEPTED/,
  ],
  [
    'csrData holds a certificate',
    'VirtualMeshCertificateSigningRequest',
    (o) => (o.spec.csrData = b64(pki.signedByRoot)),
    'spec.csrData',
    'Invalid',
    /found CERTIFICATE$/,
  ],
  [
    'virtualMeshRef without name',
    'VirtualMeshCertificateSigningRequest',
    (o) => delete o.spec.virtualMeshRef.name,
    'spec.virtualMeshRef.name',
    'Required',
    /must be set/,
  ],
];

describe('invalid objects fail with the exact field path', () => {
  it('covers every kind', () => {
    expect(new Set(CASES.map((c) => c[1]))).toEqual(new Set(KINDS.map((k) => k.kind)));
  });
  for (const [name, kind, mutate, path, type, message] of CASES) {
    it(`${kind}: ${name} → ${path}`, () => {
      const obj = clone(valid[kind]![0]!);
      mutate(obj);
      const errors = validateObject(obj);
      expect(
        errors.map((e) => e.path),
        formatFieldError(errors[0] ?? { path: '-', type: 'Invalid', message: 'no error' }),
      ).toEqual([path]);
      expect(errors[0]!.type).toBe(type);
      expect(errors[0]!.message).toMatch(message);
    });
  }

  it('reports every error at once (allErrors)', () => {
    const obj = clone(valid.IssuedCertificate![0]!);
    obj.status.state = 1;
    obj.spec.certOptions.ttlDays = 'x';
    obj.spec.extra = true;
    expect(
      validateObject(obj)
        .map((e) => e.path)
        .sort(),
    ).toEqual(['spec.certOptions.ttlDays', 'spec.extra', 'status.state']);
  });

  it('counts string lengths in characters, as the apiserver does, not UTF-16 units', () => {
    // 253 emoji are 506 UTF-16 units but 253 characters: the limit of a ResourceRef's cluster exactly.
    const at = (cluster: string) => {
      const o = clone(valid.VirtualMeshCertificateSigningRequest![0]!);
      o.spec.virtualMeshRef.cluster = cluster;
      return validateObject(o).map(formatFieldError);
    };
    expect(at('\u{1F512}'.repeat(253))).toEqual([]);
    expect(at('\u{1F512}'.repeat(254))).toEqual([
      'spec.virtualMeshRef.cluster: Too long: must have at most 253 characters',
    ]);
    // A lone surrogate is one character, as ajv's unicode mode and Go's rune count have it.
    expect(at('\uD800'.repeat(254))).toHaveLength(1);
    // Several strings over the limit in UTF-16 units only, next to a real error: just the real one.
    const mixed = clone(valid.PodBounceDirective![0]!);
    mixed.status.podsBounced = [{ bouncedPods: ['\u{1F512}'.repeat(200), 'x'.repeat(254)] }];
    expect(validateObject(mixed).map((e) => e.path)).toEqual(['status.podsBounced[0].bouncedPods[1]']);
  });

  it('rejects non-objects and unknown kinds with a clear message', () => {
    expect(validateObject('x')).toEqual([{ path: '', type: 'Invalid', value: 'x', message: 'must be a JSON object' }]);
    const [e] = validateObject({ apiVersion: GLOO, kind: 'Certificate' });
    expect(formatFieldError(e!)).toMatch(
      /^kind: Unsupported value: "certificates.mesh.gloo.solo.io\/v1 Certificate": must be one of /,
    );
  });

  it('never echoes a private key pasted into a bytes field', () => {
    const obj = clone(valid.CertificateRequest![0]!);
    obj.spec.certificateSigningRequest = b64(pki.privateKey);
    const text = validateObject(obj).map(formatFieldError).join('\n') + JSON.stringify(validateObject(obj));
    const keyBody = pki.privateKey.split('\n')[1]!;
    expect(text).toContain('must not contain a private key');
    expect(text).not.toContain(keyBody);
    expect(text).not.toContain(b64(pki.privateKey).slice(0, 40));
  });

  it('formats errors as kube-apiserver does', () => {
    expect(
      formatFieldError({
        path: 'status.state',
        type: 'Invalid',
        value: 'FINISHED',
        message: 'IssuedCertificate cannot move from PENDING to FINISHED; allowed: REQUESTED, FAILED',
      }),
    ).toBe(
      'status.state: Invalid value: "FINISHED": IssuedCertificate cannot move from PENDING to FINISHED; allowed: REQUESTED, FAILED',
    );
    expect(formatFieldError({ path: 'spec.x', type: 'Required', message: 'must be set' })).toBe(
      'spec.x: Required value: must be set',
    );
    expect(formatFieldError({ path: 'spec.x', type: 'Forbidden', message: 'field is immutable' })).toBe(
      'spec.x: Forbidden: field is immutable',
    );
    expect(
      formatFieldError({ path: 'status.state', type: 'Unsupported', value: 3, message: 'must be one of A, B' }),
    ).toBe('status.state: Unsupported value: 3: must be one of A, B');
    expect(formatFieldError({ path: 'spec.org', type: 'TooLong', message: 'must have at most 64 characters' })).toBe(
      'spec.org: Too long: must have at most 64 characters',
    );
  });
});
