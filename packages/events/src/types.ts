/**
 * Plain record shapes. EventRecord is structurally the event bus' OutgoingMessage/DeliveredMessage,
 * declared here so this package stays transport-free (no import of the bus).
 */

export interface EventRecord {
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
}

/** The CloudEvents attributes Gatehouse uses; specversion (1.0) and datacontenttype (JSON) are fixed. */
export interface EventAttributes {
  id: string;
  type: string;
  source: string;
  /** RFC 3339, kept as the exact header string: the proof signs it byte for byte. */
  time: string;
  subject?: string;
}

export interface DecodedEvent {
  attributes: EventAttributes;
  data: Record<string, unknown>;
  /** The value bytes exactly as received (the digest is over these, never a re-serialisation). */
  value: Buffer;
  messageToken?: string;
  proof?: string;
  replayGrant?: string;
}
