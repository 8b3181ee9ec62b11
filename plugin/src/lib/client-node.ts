// The only parts of @kubernetes/client-node the CLI uses. Importing them by name (and this module
// lazily) lets esbuild drop the rest of the generated client from the chunk.
export {
  KubeConfig,
  CustomObjectsApi,
  CoreV1Api,
  VersionApi,
  setHeaderOptions,
  PatchStrategy,
  Observable,
} from '@kubernetes/client-node';
