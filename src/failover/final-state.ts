/** The final state after quiescence: the ids read from the authoritative node (the controller's writer) and from every node, for the checker and the evidence diff. */
import { eventIds } from './postgres.ts';
import type { ClusterNode } from './provider.ts';
import type { FinalState } from './checker.ts';

export async function collectFinalState(authoritative: ClusterNode, nodes: ClusterNode[]): Promise<FinalState> {
  const ids = (await eventIds(authoritative.target)) ?? [];
  const perNode: FinalState['perNode'] = {};
  for (const n of nodes) perNode[n.name] = await eventIds(n.target);
  return { authoritative: authoritative.name, ids, perNode };
}
