/**
 * The controller settings that `raidfs controller` and `raidfs up` share, declared
 * once, and their conversion into ControllerOptions.
 */
import { ControllerOptions, DEFAULTS } from '../core/controller';
import { OptionSpec, parseCount, parseSize } from './options';

export const controllerOptionSpecs: Record<string, OptionSpec> = {
  listen: { type: 'string', help: 'ZeroMQ endpoint storage nodes connect to', default: DEFAULTS.endpoint },
  'stripe-size': { type: 'string', help: 'part size for files over two stripes', default: '4MiB' },
  replicas: { type: 'string', help: 'copies of every part, each on a distinct node', default: String(DEFAULTS.replicas) },
  'request-timeout': { type: 'string', help: 'deadline of every request to a node, in ms', default: String(DEFAULTS.requestTimeoutMs) },
  'node-timeout': { type: 'string', help: 'a node silent this many ms counts as down', default: String(DEFAULTS.nodeTimeoutMs) },
};

export function controllerOptionsFrom(values: Record<string, string | boolean | undefined>, dbPath: string): ControllerOptions {
  return {
    dbPath,
    endpoint: values.listen as string,
    stripeSize: parseSize(values['stripe-size'] as string, '--stripe-size'),
    replicas: parseCount(values.replicas as string, '--replicas'),
    requestTimeoutMs: parseCount(values['request-timeout'] as string, '--request-timeout'),
    nodeTimeoutMs: parseCount(values['node-timeout'] as string, '--node-timeout'),
  };
}
