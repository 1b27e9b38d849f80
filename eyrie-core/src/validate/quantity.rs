//! [`Quantity`]: a Kubernetes resource quantity such as `500m` or `2Gi`.

use super::{InputKind, ValidationError, string_newtype};

/// A non-negative Kubernetes resource quantity: a decimal number with an
/// optional suffix (`m`, `k`, `M`, `G`, `T`, `P`, `E`, `Ki`, `Mi`, `Gi`, `Ti`,
/// `Pi`, `Ei`). Exponent notation is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(String);

const SUFFIXES: [&str; 13] = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "m", "k", "M", "G", "T", "P", "E"];

fn check_quantity(s: &str) -> Result<String, ValidationError> {
    let number = SUFFIXES.iter().find_map(|suffix| s.strip_suffix(suffix)).unwrap_or(s);
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    let ok = s.len() <= 64 && !(int.is_empty() && frac.is_empty()) && digits(int) && digits(frac) && number != ".";
    if ok {
        Ok(s.to_owned())
    } else {
        Err(ValidationError::new(
            InputKind::Quantity,
            s,
            "must be a non-negative decimal number with an optional suffix such as m, Mi or Gi",
        ))
    }
}
string_newtype!(Quantity, check_quantity);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        for ok in ["1", "500m", "0.5", "2Gi", "128Mi", "1.5G", ".5", "3."] {
            assert!(ok.parse::<Quantity>().is_ok(), "{ok}");
        }
        for bad in ["", "-1", "1e3", "Gi", "1 Gi", "1gi", "1..2", ".", "1Gii"] {
            assert!(bad.parse::<Quantity>().is_err(), "{bad}");
        }
    }
}
