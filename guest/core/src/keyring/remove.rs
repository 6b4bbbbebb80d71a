//! Remove: Revoke, then Destroy, with recovery so that the cache and the server agree
//! whatever answer is lost.

use super::KeyringLogic;
use crate::error::KeyringError;
use crate::kmip::request;
use crate::platform::{LogLevel, Platform};

impl<P: Platform> KeyringLogic<P> {
    /// Revokes then destroys the object. A Revoke the server refuses (an object that was
    /// never activated, or already revoked) does not stop the Destroy; an object the
    /// Destroy finds gone counts as removed, so the caller's cache can agree with the
    /// server.
    pub fn remove(&mut self, object_id: &str) -> Result<(), KeyringError> {
        self.settings()?;
        if object_id.is_empty() {
            return Err(KeyringError::InvalidArgument(
                "object id must not be empty".into(),
            ));
        }
        let revoke = |this: &mut Self| this.write_once(|| request::revoke(object_id));
        // A Revoke whose answer was lost is sent once more (on the next server, if this
        // one is gone): revoking twice only draws a refusal, which does not stop the
        // Destroy below.
        let revoked = match revoke(self) {
            Err(KeyringError::Transport(lost)) => {
                self.platform.log(
                    LogLevel::Warning,
                    &format!("revoking KMIP object {object_id} got no answer ({lost}); again"),
                );
                revoke(self)
            }
            other => other,
        };
        // A Revoke refused as Item Not Found does not prove the object is gone: Cosmian
        // KMS answers so for one already revoked. The Destroy's answer decides.
        if let Err(e) = revoked {
            if !matches!(e, KeyringError::ServerFailure(_)) {
                return Err(e);
            }
            self.platform.log(
                LogLevel::Warning,
                &format!("Revoke of KMIP object {object_id} failed ({e}); destroying it anyway"),
            );
        }
        let destroy = |this: &mut Self| this.write_once(|| request::destroy(object_id));
        match destroy(self) {
            Err(e) if e.means_gone() => Ok(()),
            // The answer was lost: whether the object is gone decides what the caller's
            // cache must say; if it is still there, one more Destroy.
            Err(e @ KeyringError::Transport(_)) => match self.state_of(object_id) {
                Err(gone) if gone.means_gone() => {
                    self.platform.log(
                        LogLevel::Info,
                        &format!(
                            "the answer to destroying KMIP object {object_id} was lost ({e}); \
                             the object is gone, so it counts as removed"
                        ),
                    );
                    Ok(())
                }
                Ok(_) => match destroy(self) {
                    Err(again) if again.means_gone() => Ok(()),
                    other => other,
                },
                Err(_) => Err(e),
            },
            other => other,
        }
    }
}
