/**
 * Freezes a value and every object under it, for records and filters that several callers share
 * (a held device record, a status write's condition). Byte arrays cannot be frozen and are left
 * as they are.
 */
export function deepFreeze<V>(value: V): V {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value;
  for (const v of Object.values(value as object)) deepFreeze(v);
  return Object.freeze(value);
}
