//! Small closed sets of values, each spelled one way on the wire and in the database.

macro_rules! choice {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),*
        }

        // Written out: utoipa's derive does not see serde renames that come through a macro.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),*]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),*
                }
            }

            pub fn parse(raw: &str) -> Result<Self, crate::error::FieldError> {
                match raw.trim() {
                    $($text => Ok($name::$variant),)*
                    _ => Err(crate::error::FieldError::new(
                        "invalid_choice",
                        format!("must be one of: {}", [$($text),*].join(", ")),
                    )),
                }
            }

            pub fn from_db(text: &str) -> Result<Self, crate::Error> {
                Self::parse(text).map_err(|_| crate::Error::Internal(format!(
                    "unknown {} {text:?} in the database", stringify!($name)
                )))
            }
        }
    };
}

pub(crate) use choice;

choice!(
    /// How a client prefers to be reached.
    Channel { Sms = "sms", Email = "email" }
);

choice!(Gender { Female = "female", Male = "male", Other = "other" });

choice!(
    /// How a visit was paid (储值 = stored value on a membership card).
    PaymentMethod {
        Cash = "cash",
        Card = "card",
        WechatPay = "wechat_pay",
        Alipay = "alipay",
        StoredValue = "stored_value",
        Other = "other",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_list_choices() {
        assert_eq!(PaymentMethod::parse("wechat_pay").unwrap(), PaymentMethod::WechatPay);
        let error = PaymentMethod::parse("bitcoin").unwrap_err();
        assert_eq!(
            error.message,
            "must be one of: cash, card, wechat_pay, alipay, stored_value, other"
        );
        assert_eq!(Channel::ALL.len(), 2);
    }
}
