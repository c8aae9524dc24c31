//! Generation of replacement secret values.
//!
//! Every format draws its entropy from a caller-supplied cryptographically
//! secure RNG ([`rand::CryptoRng`]); production code passes [`os_rng`], tests
//! pass a seeded generator for determinism.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use rand::{CryptoRng, TryRngCore as _};

/// Number of random bytes behind the `base64` and `hex` formats (256 bits).
pub const RANDOM_BYTES: usize = 32;

/// Length used by a bare `alnum` profile string (about 190 bits of entropy).
pub const DEFAULT_ALNUM_LEN: usize = 32;

/// Shortest accepted `alnum:N` length: 16 characters is about 95 bits.
pub const MIN_ALNUM_LEN: usize = 16;

/// Longest accepted `alnum:N` length (a sanity bound, not a security one).
pub const MAX_ALNUM_LEN: usize = 1024;

const ALNUM: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// The shape of a generated secret.
///
/// Parsed from a profile string with [`FromStr`] / serde: `"base64"`,
/// `"hex"`, `"alnum"` (= [`DEFAULT_ALNUM_LEN`] characters) or `"alnum:N"`.
/// Names are case-insensitive.
///
/// The default is [`Format::Base64`], what hardening guides recommend for
/// passwords (`openssl rand -base64 32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// 32 random bytes, standard base64 alphabet with `=` padding (44
    /// characters), the same shape as `openssl rand -base64 32`.
    #[default]
    Base64,
    /// 32 random bytes as 64 lowercase hex digits, like `openssl rand -hex 32`.
    Hex,
    /// N characters drawn uniformly from `[A-Za-z0-9]`; safe for services that
    /// choke on punctuation in passwords or URLs.
    Alnum(usize),
}

/// Why a profile string is not a valid [`Format`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The name before any `:` is not `base64`, `hex` or `alnum`.
    #[error("unknown secret format {0:?} (expected base64, hex, alnum or alnum:N)")]
    Unknown(String),
    /// The `N` in `alnum:N` is not a number or outside the accepted range.
    #[error("alnum length must be a number from {MIN_ALNUM_LEN} to {MAX_ALNUM_LEN}, got {0:?}")]
    BadLength(String),
}

impl FromStr for Format {
    type Err = FormatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        let (name, arg) = match trimmed.split_once(':') {
            Some((name, arg)) => (name.trim(), Some(arg.trim())),
            None => (trimmed, None),
        };
        match (name.to_ascii_lowercase().as_str(), arg) {
            ("base64", None) => Ok(Format::Base64),
            ("hex", None) => Ok(Format::Hex),
            ("alnum", None) => Ok(Format::Alnum(DEFAULT_ALNUM_LEN)),
            ("alnum", Some(n)) => match n.parse::<usize>() {
                Ok(n) if (MIN_ALNUM_LEN..=MAX_ALNUM_LEN).contains(&n) => Ok(Format::Alnum(n)),
                _ => Err(FormatError::BadLength(n.to_string())),
            },
            _ => Err(FormatError::Unknown(s.to_string())),
        }
    }
}

impl fmt::Display for Format {
    /// The canonical profile string, accepted back by [`FromStr`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Format::Base64 => f.write_str("base64"),
            Format::Hex => f.write_str("hex"),
            Format::Alnum(n) => write!(f, "alnum:{n}"),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Format {
    /// Deserializes from the same strings as [`FromStr`].
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Format {
    /// Serializes as the canonical profile string (see [`fmt::Display`]).
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Generates a fresh secret in `format` from `rng` (any CSPRNG; [`CryptoRng`]
/// implies [`rand::RngCore`]).
///
/// The output only contains characters from `[A-Za-z0-9+/=]`, so it can be
/// written to a `.env` file without quoting (see `dotenv::encode_value`).
/// `Alnum(n)` uses rejection sampling, so every character is uniform over the
/// 62-symbol alphabet (no modulo bias).
pub fn generate(format: &Format, rng: &mut impl CryptoRng) -> String {
    match format {
        Format::Base64 => {
            let mut bytes = [0u8; RANDOM_BYTES];
            rng.fill_bytes(&mut bytes);
            base64::engine::general_purpose::STANDARD.encode(bytes)
        }
        Format::Hex => {
            let mut bytes = [0u8; RANDOM_BYTES];
            rng.fill_bytes(&mut bytes);
            hex::encode(bytes)
        }
        Format::Alnum(len) => {
            let mut out = String::with_capacity(*len);
            let mut buf = [0u8; 64];
            while out.len() < *len {
                rng.fill_bytes(&mut buf);
                for &b in &buf {
                    // 248 = 4 * 62: bytes >= 248 would bias the first 8 symbols.
                    if b < 248 {
                        out.push(char::from(ALNUM[usize::from(b % 62)]));
                        if out.len() == *len {
                            break;
                        }
                    }
                }
            }
            out
        }
    }
}

/// The RNG type returned by [`os_rng`]: the OS CSPRNG behind the infallible
/// [`rand::RngCore`] + [`CryptoRng`] interface.
pub type OsCsprng = rand::rand_core::UnwrapErr<rand::rngs::OsRng>;

/// The operating system's CSPRNG (`getrandom`), ready for [`generate`].
///
/// Every draw reads directly from the OS; nothing is buffered or seeded in
/// user space. If the OS entropy source fails, drawing panics: there is no
/// safe fallback for secret generation.
pub fn os_rng() -> OsCsprng {
    rand::rngs::OsRng.unwrap_err()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn seeded() -> StdRng {
        StdRng::seed_from_u64(0x5eed)
    }

    #[test]
    fn base64_shape() {
        let mut rng = seeded();
        let s = generate(&Format::Base64, &mut rng);
        assert_eq!(s.len(), 44);
        assert!(s.ends_with('='));
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&s)
            .expect("valid base64");
        assert_eq!(decoded.len(), 32);
    }

    #[test]
    fn hex_shape() {
        let mut rng = seeded();
        let s = generate(&Format::Hex, &mut rng);
        assert_eq!(s.len(), 64);
        assert!(s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }

    #[test]
    fn alnum_shape_and_lengths() {
        let mut rng = seeded();
        for n in [1, 16, 24, 32, 63, 64, 65, 200] {
            let s = generate(&Format::Alnum(n), &mut rng);
            assert_eq!(s.len(), n);
            assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
        }
        assert_eq!(generate(&Format::Alnum(0), &mut rng), "");
    }

    #[test]
    fn deterministic_with_seed_and_distinct_draws() {
        let a = generate(&Format::Base64, &mut seeded());
        let b = generate(&Format::Base64, &mut seeded());
        assert_eq!(a, b);
        let mut rng = seeded();
        let c = generate(&Format::Hex, &mut rng);
        let d = generate(&Format::Hex, &mut rng);
        assert_ne!(c, d);
    }

    #[test]
    fn alnum_is_roughly_uniform() {
        let mut rng = seeded();
        let s = generate(&Format::Alnum(62 * 1000), &mut rng);
        let mut counts = [0usize; 128];
        for b in s.bytes() {
            counts[usize::from(b)] += 1;
        }
        for &c in ALNUM {
            let n = counts[usize::from(c)];
            // Expected 1000 each; 5 sigma is about 160.
            assert!((800..1200).contains(&n), "{} appeared {n} times", c as char);
        }
    }

    #[test]
    fn os_rng_works() {
        let mut rng = os_rng();
        let a = generate(&Format::Alnum(32), &mut rng);
        let b = generate(&Format::Alnum(32), &mut rng);
        assert_ne!(a, b);
    }

    #[test]
    fn parse_formats() {
        let cases: &[(&str, Result<Format, ()>)] = &[
            ("base64", Ok(Format::Base64)),
            ("BASE64", Ok(Format::Base64)),
            (" hex ", Ok(Format::Hex)),
            ("alnum", Ok(Format::Alnum(DEFAULT_ALNUM_LEN))),
            ("alnum:24", Ok(Format::Alnum(24))),
            ("alnum: 40", Ok(Format::Alnum(40))),
            ("alnum:8", Err(())),
            ("alnum:0", Err(())),
            ("alnum:abc", Err(())),
            ("alnum:99999", Err(())),
            ("hex:12", Err(())),
            ("uuid", Err(())),
            ("", Err(())),
        ];
        for (input, want) in cases {
            let got = input.parse::<Format>().map_err(|_| ());
            assert_eq!(&got, want, "input {input:?}");
        }
    }

    #[test]
    fn display_round_trips() {
        for f in [Format::Base64, Format::Hex, Format::Alnum(24)] {
            assert_eq!(f.to_string().parse::<Format>(), Ok(f));
        }
    }

    #[test]
    fn serde_via_toml() {
        #[derive(serde::Deserialize, serde::Serialize)]
        struct Profile {
            format: Format,
        }
        let p: Profile = toml::from_str("format = \"alnum:20\"").expect("parses");
        assert_eq!(p.format, Format::Alnum(20));
        assert!(toml::from_str::<Profile>("format = \"rot13\"").is_err());
        let out = toml::to_string(&Profile {
            format: Format::Hex,
        })
        .expect("serializes");
        assert_eq!(out.trim(), "format = \"hex\"");
    }
}
