//! Deserialisers the request bodies share: fields a change keeps when they
//! are absent, and JSON objects that must be objects.
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};

/// A change's field (`PATCH`): absent keeps it, and `null` is refused (422
/// naming the field) rather than read as absent, since the field cannot be
/// cleared. Use with `#[serde(default, deserialize_with = "not_null")]`.
pub fn not_null<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(d)?
        .map(Some)
        .ok_or_else(|| D::Error::custom("must not be null (leave the field out to keep it)"))
}

/// A JSON object only (serde alone would also read a struct from an array).
pub fn object<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<T, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    if !value.is_object() {
        return Err(D::Error::custom("must be a JSON object"));
    }
    T::deserialize(value).map_err(D::Error::custom)
}

/// A list of JSON objects only.
pub fn objects<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
    let values = Vec::<serde_json::Value>::deserialize(d)?;
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v.is_object() {
            true => T::deserialize(v).map_err(|e| D::Error::custom(format!("[{i}]: {e}"))),
            false => Err(D::Error::custom(format!("[{i}]: must be a JSON object"))),
        })
        .collect()
}

/// [`not_null`], for a JSON object.
pub fn not_null_object<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    object(d).map(Some)
}

/// [`not_null`], for a list of JSON objects.
pub fn not_null_objects<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<Vec<T>>, D::Error> {
    objects(d).map(Some)
}

/// A field a change may clear: absent → `None` (keep), `null` → `Some(None)`
/// (clear), a value → `Some(Some(v))`. Use with `#[serde(default, deserialize_with = "nullable")]`.
pub fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}
