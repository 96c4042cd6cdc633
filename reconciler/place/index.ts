export * from './types.ts';
export { decide } from './decide.ts';
export { divideReplicas, type DivideCandidate } from './divide.ts';
export { demandOf } from './demand.ts';
export { divideWorkloads } from './divide-workloads.ts';
export { placeApp, matches } from './placement.ts';
