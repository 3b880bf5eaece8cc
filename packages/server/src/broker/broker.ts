/**
 * The seam through which a publish reaches subscribers, on this process or (with a
 * shared broker such as Redis) on every process. Payloads are ready-to-send text
 * messages, encoded once at publish time; a broker moves them, it never looks inside.
 */
export interface Broker {
  /** Start delivering `topic`'s payloads to `listener`; resolves once deliveries are live. */
  subscribe(topic: string, listener: BrokerListener): Promise<void>;
  /** Stop delivering to `listener`. */
  unsubscribe(topic: string, listener: BrokerListener): Promise<void>;
  /** Deliver `payload` to every listener of `topic`, in publish order per topic. */
  publish(topic: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

export type BrokerListener = (payload: string) => void;
