//! KMIP protocol versions and their negotiation.

use std::fmt;

/// A KMIP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ProtocolVersion {
    /// Major number (1 for every version we speak).
    pub major: i32,
    /// Minor number.
    pub minor: i32,
}

impl ProtocolVersion {
    /// KMIP 1.0: no Discover Versions.
    pub const V1_0: Self = Self::new(1, 0);
    /// KMIP 1.1: adds Discover Versions.
    pub const V1_1: Self = Self::new(1, 1);
    /// KMIP 1.2.
    pub const V1_2: Self = Self::new(1, 2);
    /// KMIP 1.3: adds Offset Items to Locate.
    pub const V1_3: Self = Self::new(1, 3);
    /// KMIP 1.4: what Percona's current client speaks.
    pub const V1_4: Self = Self::new(1, 4);

    /// The versions we speak, most preferred first.
    pub const SUPPORTED: [Self; 5] = [Self::V1_4, Self::V1_3, Self::V1_2, Self::V1_1, Self::V1_0];

    /// Builds a version.
    pub const fn new(major: i32, minor: i32) -> Self {
        Self { major, minor }
    }

    /// Whether Locate accepts Offset Items (paging) in this version.
    pub fn has_offset_items(self) -> bool {
        self >= Self::V1_3
    }

    /// Picks the version to use from the server's list: the highest one we both speak,
    /// in whatever order the server lists them (servers answer in their own preference or
    /// echo ours; either way the newest common version is what we want).
    pub fn choose(server_versions: &[Self]) -> Option<Self> {
        server_versions
            .iter()
            .copied()
            .filter(|v| Self::SUPPORTED.contains(v))
            .max()
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_takes_the_highest_common_version_in_any_order() {
        let server = [
            ProtocolVersion::new(2, 0),
            ProtocolVersion::V1_2,
            ProtocolVersion::V1_4,
        ];
        assert_eq!(
            ProtocolVersion::choose(&server),
            Some(ProtocolVersion::V1_4)
        );
        assert_eq!(ProtocolVersion::choose(&[]), None);
        assert_eq!(ProtocolVersion::choose(&[ProtocolVersion::new(2, 1)]), None);
        assert!(ProtocolVersion::V1_3.has_offset_items());
        assert!(!ProtocolVersion::V1_2.has_offset_items());
    }
}
