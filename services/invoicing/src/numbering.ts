/** Invoice numbers, pure: INV-000042, the org's 42nd invoice (unique per organisation). */
export function invoiceNumber(sequence: number): string {
  if (!Number.isSafeInteger(sequence) || sequence < 1) throw new RangeError('invoice sequence must be a positive integer');
  return `INV-${String(sequence).padStart(6, '0')}`;
}
