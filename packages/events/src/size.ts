/** Header bytes as Kafka carries them: every name and value, UTF-8. */
export function headersBytes(headers: Record<string, string>): number {
  let total = 0;
  for (const [name, value] of Object.entries(headers)) {
    total += Buffer.byteLength(name) + Buffer.byteLength(value);
  }
  return total;
}
