use crate::error::FieldError;

/// An amount in minor units (分, cents) of the tenant's currency: never negative, and below a
/// bound that keeps sums of millions of visits far from overflow.
pub fn parse_amount(cents: i64) -> Result<i64, FieldError> {
    const MAX: i64 = 10_000_000_000; // 100 million in major units per line
    if cents < 0 {
        Err(FieldError::new(
            "negative_amount",
            "amounts are in minor units (分/cents) and cannot be negative",
        ))
    } else if cents > MAX {
        Err(FieldError::new("amount_too_large", "the amount is implausibly large"))
    } else {
        Ok(cents)
    }
}
