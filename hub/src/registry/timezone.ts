import { EnosError, codes } from '@edgehub/shared';

const OFFSET = /^[+-](0\d|1[0-4]):[0-5]\d$/;

/**
 * A device's timezone is a UTC offset (`+08:00`) or a zone of the IANA database (`Asia/Shanghai`).
 * The request schemas check the shape; whether a name is a real zone is asked of Intl here, so a
 * typo or `Mars/Olympus` is refused at creation rather than stored and misread later.
 */
export function isKnownTimezone(tz: string): boolean {
  if (OFFSET.test(tz)) return true;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function requireKnownTimezone(tz: string, field = 'timezone'): void {
  if (!isKnownTimezone(tz))
    throw new EnosError(
      codes.invalidArgument,
      `Invalid Argument ${field}: ${tz} is neither a UTC offset like +08:00 nor an IANA zone like Asia/Shanghai`,
    );
}
