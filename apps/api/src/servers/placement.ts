/**
 * Pure placement logic: which nodes can take a server (filter) and in what order to try them
 * (weigh). The service applies the same capacity rule again in SQL under a row lock.
 */
export interface NodeCapacity {
  id: string;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  cpuOvercommit: number;
  memoryOvercommit: number;
  usedVcpus: number;
  usedMemoryMiB: number;
  usedDiskGiB: number;
}

export interface ResourceRequest {
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
}

/** Sellable capacity of a node: physical capacity times its overcommit ratio (disk is never overcommitted). */
export function sellable(node: NodeCapacity): ResourceRequest {
  return {
    vcpus: Math.floor(node.vcpus * node.cpuOvercommit),
    memoryMiB: Math.floor(node.memoryMiB * node.memoryOvercommit),
    diskGiB: node.diskGiB,
  };
}

export function fits(node: NodeCapacity, req: ResourceRequest): boolean {
  const cap = sellable(node);
  return node.usedVcpus + req.vcpus <= cap.vcpus && node.usedMemoryMiB + req.memoryMiB <= cap.memoryMiB && node.usedDiskGiB + req.diskGiB <= cap.diskGiB;
}

/**
 * Spread: prefer the node that stays emptiest after taking the server. The score is the smallest
 * free fraction of the three resources after placement (the one that runs out first), so a node
 * with plenty of RAM but few vCPUs left does not win. Ties go to the node id for a stable order.
 */
export function spreadScore(node: NodeCapacity, req: ResourceRequest): number {
  const cap = sellable(node);
  const free = (total: number, used: number, want: number) => (total <= 0 ? 0 : (total - used - want) / total);
  return Math.min(
    free(cap.vcpus, node.usedVcpus, req.vcpus),
    free(cap.memoryMiB, node.usedMemoryMiB, req.memoryMiB),
    free(cap.diskGiB, node.usedDiskGiB, req.diskGiB),
  );
}

/** Nodes that fit, best first. */
export function weighNodes<N extends NodeCapacity>(nodes: readonly N[], req: ResourceRequest): N[] {
  return nodes
    .filter((n) => fits(n, req))
    .map((n) => ({ n, s: spreadScore(n, req) }))
    .sort((a, b) => b.s - a.s || (a.n.id < b.n.id ? -1 : a.n.id > b.n.id ? 1 : 0))
    .map((x) => x.n);
}
