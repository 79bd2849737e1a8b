/** Builds the failover drill's link proxies from the injector (the composition the failover module can't do itself). */
import { startProxy } from '../injector/index.ts';
import type { LinkProxy, LinkProxyFactory } from '../failover/index.ts';

export const injectorLinks: LinkProxyFactory = async (name, upstream, seed): Promise<LinkProxy> => {
  const p = await startProxy({ name, upstream, seed });
  return {
    host: p.listenHost,
    port: p.listenPort,
    partition(mode) {
      if (p.getFault('partition') === undefined) p.addFault({ type: 'partition', name: 'partition', stream: 'both', attributes: { mode, scope: 'both' } });
    },
    heal: () => p.heal(),
    setUpstream: (hp) => p.setUpstream(hp),
    resetConnections: () => p.resetConnections(),
    stats: () => p.stats(),
    stop: () => p.stop(),
  };
};
