import { isArgon2 } from "./argon2.js";
import { isBcrypt } from "./bcrypt.js";
import { isDjangoPbkdf2 } from "./django-pbkdf2.js";
import { isFirebaseScrypt } from "./firebase-scrypt.js";
import { isPbkdf2 } from "./pbkdf2.js";
import { isScrypt } from "./scrypt.js";
import type { HashFormat } from "./types.js";

/**
 * Recognises a format by its prefix only; whether the rest parses is for verification to find out, so that a
 * corrupt row of a known format reads as NO_MATCH (and is logged) rather than as "unknown format".
 *
 *   bcrypt           $2a$ $2b$ $2x$ $2y$
 *   argon2           $argon2id$ $argon2i$ $argon2d$
 *   firebase_scrypt  $f_scrypt$…            (see firebase-scrypt.ts)
 *   scrypt           $scrypt$… (PHC) and scrypt:N:r:p$… (Werkzeug)   (see scrypt.ts)
 *   django_pbkdf2    pbkdf2_sha256$… pbkdf2_sha1$…                 (see django-pbkdf2.ts)
 *   pbkdf2           $pbkdf2-sha256$ -sha512$ -sha1$ $pbkdf2$ (PHC/passlib) and pbkdf2:<digest>:<n>$… (Werkzeug)
 */
export function detectHashFormat(hash: string): HashFormat | undefined {
  if (typeof hash !== "string") return undefined;
  if (isBcrypt(hash)) return "bcrypt";
  if (isArgon2(hash)) return "argon2";
  if (isFirebaseScrypt(hash)) return "firebase_scrypt";
  if (isScrypt(hash)) return "scrypt";
  if (isDjangoPbkdf2(hash)) return "django_pbkdf2";
  if (isPbkdf2(hash)) return "pbkdf2";
  return undefined;
}
