/**
 * `connection.state.post` (docs/ENOS-PROTOCOL.md §4.1): an edge reports the states of its southbound
 * nodes. The shape follows the Java SDK's ConnectionStatePostRequest, which always sends
 * `isFull`, `nodes`, `relations` (empty unless `isFull`) and `reportTime`.
 */
import type { UpstreamHandler } from './context.js';
import { isObject, modelError, optionalTime, requireArray, requireObject, shapeError } from './model-check.js';

/** Nodes per report. EnOS documents no cap; this bounds one report's work. */
export const MAX_NODES = 2000;

/** 1 connected, 2 disconnected, 3 unknown. */
export type NodeState = 1 | 2 | 3;

export interface ConnectionNode {
  nodeId: string;
  state: NodeState;
  assetId?: string;
  name?: string;
  info?: string;
}

export interface ConnectionStateReport {
  isFull: boolean;
  nodes: ConnectionNode[];
  /** Parent node id → child node ids. */
  relations: Record<string, string[]>;
  reportTime: number;
}

const optionalStrings = ['assetId', 'name', 'info'] as const;

export const connectionStatePost: UpstreamHandler = async (req, deps) => {
  const params = requireObject(req.request.params, 'params');
  const isFull = params['isFull'];
  if (typeof isFull !== 'boolean') throw shapeError('params.isFull', 'must be a boolean');
  const items = requireArray(params['nodes'], 'params.nodes');
  if (items.length > MAX_NODES) throw modelError(`params.nodes holds ${items.length} nodes, at most ${MAX_NODES} are allowed`);

  const nodes: ConnectionNode[] = [];
  const seen = new Set<string>();
  for (const [i, item] of items.entries()) {
    const field = `params.nodes[${i}]`;
    if (!isObject(item)) throw shapeError(field, 'must be a JSON object');
    const { nodeId, state } = item;
    if (typeof nodeId !== 'string' || nodeId === '') throw shapeError(`${field}.nodeId`, 'must be a non-empty string');
    if (typeof state !== 'number') throw shapeError(`${field}.state`, 'must be a number');
    if (state !== 1 && state !== 2 && state !== 3)
      throw modelError(`${field}.state must be 1 (connected), 2 (disconnected) or 3 (unknown)`);
    if (seen.has(nodeId)) throw modelError(`${field}.nodeId ${nodeId} appears twice in the report`);
    seen.add(nodeId);
    const node: ConnectionNode = { nodeId, state };
    for (const key of optionalStrings) {
      const v = item[key];
      if (v === undefined) continue;
      if (typeof v !== 'string') throw shapeError(`${field}.${key}`, 'must be a string');
      node[key] = v;
    }
    nodes.push(node);
  }

  const relations: [string, string[]][] = [];
  if (params['relations'] !== undefined) {
    for (const [parent, children] of Object.entries(requireObject(params['relations'], 'params.relations'))) {
      const field = `params.relations.${parent}`;
      const list = requireArray(children, field);
      list.forEach((c, i) => {
        if (typeof c !== 'string') throw shapeError(`${field}[${i}]`, 'must be a string');
      });
      relations.push([parent, list as string[]]);
    }
  }
  // The Java SDK refuses relations in a partial report: they describe the whole tree.
  if (!isFull && relations.length > 0) throw modelError('params.relations is only allowed when params.isFull is true');

  const reportTime = optionalTime(params['reportTime'], 'params.reportTime', deps.clock);
  const report: ConnectionStateReport = { isFull, nodes, relations: Object.fromEntries(relations), reportTime };
  await deps.ingest.connectionState?.(req.target, report, reportTime);
  return { data: {} };
};
