import { type AnyContract, decodeValue, readMessage } from '@switchboard/contract';
import type { BrokerPayload } from '../broker/broker.js';
import { type ChannelDelivery, DELIVERY_DEFAULTS, type DeliveryOptions } from './delivery.js';
import type { Metrics } from './metrics.js';
import type { Router } from './router.js';

/** Each channel's delivery policy, checked once, with its counters. */
export function resolveDeliveries(
  router: Router<AnyContract, unknown>,
  metrics: Metrics,
  onError: (error: unknown, where: { channel: string }) => void,
): Map<string, ChannelDelivery> {
  const deliveries = new Map<string, ChannelDelivery>();
  for (const name of Object.keys(router.contract.channels)) {
    const options = ((router.channels as Record<string, { delivery?: DeliveryOptions<unknown> } | undefined>)[name]
      ?.delivery ?? {}) as DeliveryOptions<unknown>;
    const policy = options.policy ?? DELIVERY_DEFAULTS.policy;
    if (policy !== 'queue' && policy !== 'drop-oldest' && policy !== 'latest') {
      throw new TypeError(`channels.${name}.delivery.policy must be 'queue', 'drop-oldest' or 'latest'`);
    }
    const maxQueued = options.maxQueued ?? DELIVERY_DEFAULTS.maxQueued;
    if (!Number.isInteger(maxQueued) || maxQueued < 1) {
      throw new TypeError(`channels.${name}.delivery.maxQueued must be an integer ≥ 1, got ${String(maxQueued)}`);
    }
    const key = options.key;
    if (key !== undefined && policy !== 'latest') {
      throw new TypeError(`channels.${name}.delivery.key applies to the 'latest' policy only`);
    }
    deliveries.set(name, {
      policy,
      maxQueued,
      keyOf:
        key === undefined
          ? undefined
          : (payload) => keyOfPayload(payload, key, (error) => onError(error, { channel: name })),
      counters: metrics.channelCounters(name),
    });
  }
  return deliveries;
}

/** The coalescing key of an encoded message; a key function that throws puts it with the keyless ones. */
function keyOfPayload(
  payload: BrokerPayload,
  key: (message: unknown) => string,
  report: (error: unknown) => void,
): string {
  try {
    const envelope = readMessage(payload) as { data?: unknown; meta?: unknown };
    return `k:${String(key(decodeValue(envelope.data, envelope.meta)))}`;
  } catch (error) {
    report(error);
    return '';
  }
}
