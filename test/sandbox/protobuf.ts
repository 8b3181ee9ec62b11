// Decoding of the Kubernetes protobuf encoding for the few built-in kinds kubectl's typed client
// sends as protobuf (`kubectl create namespace|secret|configmap|serviceaccount`, `kubectl auth can-i`); everything
// else arrives as JSON. Envelope: "k8s\0" + runtime.Unknown{typeMeta, raw}.
import { badRequest, notServed } from './errors.js';

type Kind = 'string' | 'bytes' | 'int' | 'bool' | 'time' | Msg | 'map<string,string>' | 'map<string,bytes>';
interface Field {
  name: string;
  kind: Kind;
  repeated?: boolean;
}
type Msg = { [fieldNo: number]: Field };

const ObjectReference: Msg = {
  1: { name: 'kind', kind: 'string' },
  2: { name: 'namespace', kind: 'string' },
  3: { name: 'name', kind: 'string' },
  4: { name: 'uid', kind: 'string' },
  5: { name: 'apiVersion', kind: 'string' },
  6: { name: 'resourceVersion', kind: 'string' },
  7: { name: 'fieldPath', kind: 'string' },
};
const OwnerReference: Msg = {
  1: { name: 'kind', kind: 'string' },
  3: { name: 'name', kind: 'string' },
  4: { name: 'uid', kind: 'string' },
  5: { name: 'apiVersion', kind: 'string' },
  6: { name: 'controller', kind: 'bool' },
  7: { name: 'blockOwnerDeletion', kind: 'bool' },
};
const ObjectMeta: Msg = {
  1: { name: 'name', kind: 'string' },
  2: { name: 'generateName', kind: 'string' },
  3: { name: 'namespace', kind: 'string' },
  5: { name: 'uid', kind: 'string' },
  6: { name: 'resourceVersion', kind: 'string' },
  7: { name: 'generation', kind: 'int' },
  8: { name: 'creationTimestamp', kind: 'time' },
  11: { name: 'labels', kind: 'map<string,string>' },
  12: { name: 'annotations', kind: 'map<string,string>' },
  13: { name: 'ownerReferences', kind: OwnerReference, repeated: true },
  14: { name: 'finalizers', kind: 'string', repeated: true },
};
const ResourceAttributes: Msg = {
  1: { name: 'namespace', kind: 'string' },
  2: { name: 'verb', kind: 'string' },
  3: { name: 'group', kind: 'string' },
  4: { name: 'version', kind: 'string' },
  5: { name: 'resource', kind: 'string' },
  6: { name: 'subresource', kind: 'string' },
  7: { name: 'name', kind: 'string' },
};
/** keyed by apiVersion/kind */
const KINDS: Record<string, Msg> = {
  'authorization.k8s.io/v1/SelfSubjectAccessReview': {
    1: { name: 'metadata', kind: ObjectMeta },
    2: {
      name: 'spec',
      kind: {
        1: { name: 'resourceAttributes', kind: ResourceAttributes },
        2: {
          name: 'nonResourceAttributes',
          kind: { 1: { name: 'path', kind: 'string' }, 2: { name: 'verb', kind: 'string' } },
        },
      },
    },
  },
  'v1/Namespace': {
    1: { name: 'metadata', kind: ObjectMeta },
    2: { name: 'spec', kind: { 1: { name: 'finalizers', kind: 'string', repeated: true } } },
    3: { name: 'status', kind: { 1: { name: 'phase', kind: 'string' } } },
  },
  'v1/Secret': {
    1: { name: 'metadata', kind: ObjectMeta },
    2: { name: 'data', kind: 'map<string,bytes>' },
    3: { name: 'type', kind: 'string' },
    4: { name: 'stringData', kind: 'map<string,string>' },
    5: { name: 'immutable', kind: 'bool' },
  },
  'v1/ConfigMap': {
    1: { name: 'metadata', kind: ObjectMeta },
    2: { name: 'data', kind: 'map<string,string>' },
    3: { name: 'binaryData', kind: 'map<string,bytes>' },
    4: { name: 'immutable', kind: 'bool' },
  },
  'v1/ServiceAccount': {
    1: { name: 'metadata', kind: ObjectMeta },
    2: { name: 'secrets', kind: ObjectReference, repeated: true },
    3: { name: 'automountServiceAccountToken', kind: 'bool' },
    4: { name: 'imagePullSecrets', kind: { 1: { name: 'name', kind: 'string' } }, repeated: true },
  },
};

class Reader {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    private readonly end = buf.length,
  ) {}
  get done(): boolean {
    return this.pos >= this.end;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw badRequest('protobuf: truncated varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
    }
  }
  bytes(): Buffer {
    const len = Number(this.varint());
    if (this.pos + len > this.end) throw badRequest('protobuf: truncated field');
    const b = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return b;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw badRequest(`protobuf: unsupported wire type ${wire}`);
  }
}

function decodeMsg(buf: Buffer, msg: Msg): Record<string, unknown> {
  const r = new Reader(buf);
  const out: Record<string, unknown> = {};
  while (!r.done) {
    const tag = Number(r.varint());
    const no = tag >>> 3;
    const wire = tag & 7;
    const f = msg[no];
    if (!f) {
      r.skip(wire);
      continue;
    }
    let v: unknown;
    if (f.kind === 'int') v = Number(r.varint());
    else if (f.kind === 'bool') v = r.varint() !== 0n;
    else {
      const b = r.bytes();
      if (f.kind === 'string') v = b.toString('utf8');
      else if (f.kind === 'bytes') v = b.toString('base64');
      else if (f.kind === 'time') {
        const t = decodeMsg(b, { 1: { name: 'seconds', kind: 'int' } });
        v = new Date(Number(t.seconds ?? 0) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      } else if (f.kind === 'map<string,string>' || f.kind === 'map<string,bytes>') {
        const e = decodeMsg(b, {
          1: { name: 'k', kind: 'string' },
          2: { name: 'v', kind: f.kind === 'map<string,bytes>' ? 'bytes' : 'string' },
        });
        const m = (out[f.name] ??= {}) as Record<string, unknown>;
        m[String(e.k ?? '')] = e.v ?? '';
        continue;
      } else v = decodeMsg(b, f.kind);
    }
    if (f.repeated) ((out[f.name] ??= []) as unknown[]).push(v);
    else out[f.name] = v;
  }
  return out;
}

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

export function decodeKubeProtobuf(buf: Buffer): Record<string, unknown> {
  if (!buf.subarray(0, 4).equals(MAGIC)) throw badRequest('protobuf: missing the k8s envelope');
  const unknown = decodeMsg(buf.subarray(4), {
    1: { name: 'typeMeta', kind: { 1: { name: 'apiVersion', kind: 'string' }, 2: { name: 'kind', kind: 'string' } } },
    2: { name: 'raw', kind: 'bytes' },
  });
  const tm = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const spec = KINDS[`${tm.apiVersion ?? 'v1'}/${tm.kind}`];
  if (!spec) {
    // kube-apiserver would take it; the sandbox decodes protobuf only for these kinds: a plain refusal
    throw notServed(
      `protobuf request bodies for ${tm.apiVersion}/${tm.kind} (it decodes protobuf for ${Object.keys(KINDS).join(', ')} only; send JSON)`,
    );
  }
  const obj = decodeMsg(Buffer.from(String(unknown.raw ?? ''), 'base64'), spec);
  return { apiVersion: tm.apiVersion ?? 'v1', kind: tm.kind, metadata: {}, ...obj };
}
