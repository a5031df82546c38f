/**
 * The controller settings that `raidfs controller` and `raidfs up` share, declared
 * once, and their conversion into ControllerOptions (the CURVE flags: curve-options.ts).
 */
import { formatBytes, formatDuration } from '../common/format';
import { ControllerOptions, DEFAULTS } from '../core/controller';
import { controllerCurveFrom, controllerCurveSpecs } from './curve-options';
import { OptionSpec, OptionValues, parseCount, parseDuration, parseEndpointOption, parseSize } from './options';

export const controllerOptionSpecs: Record<string, OptionSpec> = {
  listen: { type: 'string', help: 'ZeroMQ endpoint storage nodes connect to', default: DEFAULTS.endpoint },
  'stripe-size': { type: 'string', help: 'part size for files over two stripes', default: formatBytes(DEFAULTS.stripeSize) },
  replicas: { type: 'string', help: 'copies of every part, each on a distinct node', default: String(DEFAULTS.replicas) },
  'request-timeout': { type: 'string', help: 'deadline of every request to a node (ms, or with s/m/h)', default: formatDuration(DEFAULTS.requestTimeoutMs) },
  'node-timeout': { type: 'string', help: 'a node silent this long counts as down', default: formatDuration(DEFAULTS.nodeTimeoutMs) },
  'delete-delay': { type: 'string', help: 'how long replaced, deleted and orphan copies stay on nodes before deletion', default: formatDuration(DEFAULTS.deleteDelayMs) },
  'sync-delay': { type: 'string', help: 'longest a file closed in the mount waits for its metadata fsync (0: fsync at close)', default: formatDuration(DEFAULTS.syncDelayMs) },
  'repair-grace': { type: 'string', help: 'a node down this long has its copies made again on other nodes', default: formatDuration(DEFAULTS.repairGraceMs) },
  'repair-rate': { type: 'string', help: 'bytes per second background repair may copy', default: formatBytes(DEFAULTS.repairBytesPerSecond) },
  'scrub-interval': { type: 'string', help: 'time between background scrubs (0: only `raidfs scrub`)', default: formatDuration(DEFAULTS.scrubIntervalMs) },
  'scrub-rate': { type: 'string', help: 'bytes per second scrub may read', default: formatBytes(DEFAULTS.scrubBytesPerSecond) },
  'data-memory': { type: 'string', help: 'file data held for the mount\'s uploads and read-ahead, however many files are written or read at once', default: formatBytes(DEFAULTS.dataMemoryBytes) },
  'rest-memory': { type: 'string', help: 'file data held for REST uploads and downloads, however many clients at once', default: formatBytes(DEFAULTS.restMemoryBytes) },
  ...controllerCurveSpecs,
};

export function controllerOptionsFrom(values: OptionValues, dbPath: string): ControllerOptions {
  return {
    dbPath,
    endpoint: parseEndpointOption(values.listen as string, '--listen', 'listen'),
    stripeSize: parseSize(values['stripe-size'] as string, '--stripe-size'),
    replicas: parseCount(values.replicas as string, '--replicas'),
    requestTimeoutMs: parseDuration(values['request-timeout'] as string, '--request-timeout'),
    nodeTimeoutMs: parseDuration(values['node-timeout'] as string, '--node-timeout'),
    deleteDelayMs: parseDuration(values['delete-delay'] as string, '--delete-delay', true),
    syncDelayMs: parseDuration(values['sync-delay'] as string, '--sync-delay', true),
    repairGraceMs: parseDuration(values['repair-grace'] as string, '--repair-grace', true),
    repairBytesPerSecond: parseSize(values['repair-rate'] as string, '--repair-rate'),
    scrubIntervalMs: parseDuration(values['scrub-interval'] as string, '--scrub-interval', true),
    scrubBytesPerSecond: parseSize(values['scrub-rate'] as string, '--scrub-rate'),
    dataMemoryBytes: parseSize(values['data-memory'] as string, '--data-memory'),
    restMemoryBytes: parseSize(values['rest-memory'] as string, '--rest-memory'),
    ...controllerCurveFrom(values),
  };
}
