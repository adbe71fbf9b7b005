export type { Cluster, ClusterNode, Redis } from 'ioredis';
export * from './connections.ts';
export * from './send-code.ts';
export * from './webhook-delivery.ts';
