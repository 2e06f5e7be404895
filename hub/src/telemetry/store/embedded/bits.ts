/**
 * A bit stream, most significant bit first: what the block codec (block.ts) packs timestamps and
 * floats into. Up to 32 bits per call; 64-bit words go as two halves.
 */
export class BitWriter {
  private bytes: Uint8Array;
  private length = 0;
  private current = 0;
  private used = 0;

  constructor(capacity = 256) {
    this.bytes = new Uint8Array(capacity);
  }

  /** Writes the low `n` bits (0..32) of `value`, an unsigned integer. */
  write(value: number, n: number): void {
    while (n > 0) {
      const free = 8 - this.used;
      const take = free < n ? free : n;
      const chunk = Math.floor(value / 2 ** (n - take)) & ((1 << take) - 1);
      this.current |= chunk << (free - take);
      this.used += take;
      n -= take;
      if (this.used === 8) this.push();
    }
  }

  /** Pads the last byte with zero bits and appends whole bytes after the stream. */
  appendBytes(data: Uint8Array): void {
    this.align();
    this.reserve(data.length);
    this.bytes.set(data, this.length);
    this.length += data.length;
  }

  /** An unsigned LEB128 integer (up to 2^53), byte aligned. */
  writeVarint(value: number): void {
    this.align();
    this.reserve(8);
    while (value >= 0x80) {
      this.bytes[this.length++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.bytes[this.length++] = value;
  }

  finish(): Buffer {
    this.align();
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.length);
  }

  private align(): void {
    if (this.used > 0) this.push();
  }

  private push(): void {
    this.reserve(1);
    this.bytes[this.length++] = this.current;
    this.current = 0;
    this.used = 0;
  }

  private reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const next = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }
}

export class BitReader {
  private pos = 0;
  private used = 0;

  constructor(private readonly bytes: Uint8Array) {}

  /** Reads `n` bits (0..32) as an unsigned integer. */
  read(n: number): number {
    let out = 0;
    while (n > 0) {
      if (this.pos >= this.bytes.length) throw new RangeError('block ends early');
      const avail = 8 - this.used;
      const take = avail < n ? avail : n;
      const chunk = (this.bytes[this.pos]! >>> (avail - take)) & ((1 << take) - 1);
      out = out * (1 << take) + chunk;
      this.used += take;
      n -= take;
      if (this.used === 8) {
        this.pos++;
        this.used = 0;
      }
    }
    return out;
  }

  readVarint(): number {
    this.align();
    let out = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.bytes.length) throw new RangeError('block ends early');
      const b = this.bytes[this.pos++]!;
      out += (b & 0x7f) * scale;
      if (b < 0x80) return out;
      scale *= 0x80;
    }
  }

  readBytes(n: number): Uint8Array {
    this.align();
    if (this.pos + n > this.bytes.length) throw new RangeError('block ends early');
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  private align(): void {
    if (this.used > 0) {
      this.pos++;
      this.used = 0;
    }
  }
}
