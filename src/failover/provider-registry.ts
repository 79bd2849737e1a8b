/**
 * The cluster providers a drill can be started with by name (`--provider`, a scenario's `provider:`).
 * The external provider is not here: it is built from the scenario's connection strings and commands.
 */
import { nativeProvider, type ClusterProvider } from './provider.ts';
import { testcontainersProvider } from './testcontainers-provider.ts';

export interface NamedProviderOptions {
  /** testcontainers: the PostgreSQL image (default: the locally built Debian image). */
  image?: string;
}

export const CLUSTER_PROVIDERS = {
  native: (): ClusterProvider => nativeProvider(),
  testcontainers: (o: NamedProviderOptions): ClusterProvider => testcontainersProvider(o.image ? { image: o.image } : {}),
} as const satisfies Record<string, (o: NamedProviderOptions) => ClusterProvider>;

export type ProviderName = keyof typeof CLUSTER_PROVIDERS;
export const PROVIDER_NAMES = Object.keys(CLUSTER_PROVIDERS) as ProviderName[];
