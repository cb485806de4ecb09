//! Files that hold what only the service's own user may read (data keys, backups and their
//! intermediate copies).

use std::fs::File;
use std::path::Path;

/// Creates `path`, which must not exist yet, readable and writable by the owner only (0600),
/// from its first byte: never briefly open to others as a later `chmod` would leave it.
pub fn create_private(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_private_file_is_the_owners_alone_and_never_replaces_another() {
        let path = std::env::temp_dir().join(format!("salon-crm-private-{}", uuid::Uuid::new_v4().simple()));
        create_private(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        let again = create_private(&path).unwrap_err();
        assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
        std::fs::remove_file(&path).unwrap();
    }
}
