//! A scripted KMIP peer: the host side of the guest's transport fed with canned responses,
//! recording every request. For sandboxed unit tests and fault injection only.

use component_keyring_kmip::broker::TransportError;
use component_keyring_kmip::broker::{Channel, Dialer};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Script {
    responses: VecDeque<Result<Vec<u8>, TransportError>>,
    requests: Vec<Vec<u8>>,
    opened: Vec<u32>,
}

/// A peer that answers each request with the next scripted response.
#[derive(Clone, Default)]
pub struct ScriptedPeer {
    servers: u32,
    script: Arc<Mutex<Script>>,
}

impl ScriptedPeer {
    /// A peer posing as `servers` configured servers.
    pub fn new(servers: u32) -> Self {
        Self {
            servers,
            script: Arc::default(),
        }
    }

    /// Queues a response message.
    pub fn respond(&self, message: Vec<u8>) -> &Self {
        self.script.lock().unwrap().responses.push_back(Ok(message));
        self
    }

    /// Queues a transport failure in place of a response.
    pub fn fail(&self, error: TransportError) -> &Self {
        self.script.lock().unwrap().responses.push_back(Err(error));
        self
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Vec<u8>> {
        self.script.lock().unwrap().requests.clone()
    }

    /// The server indices opened so far.
    pub fn opened(&self) -> Vec<u32> {
        self.script.lock().unwrap().opened.clone()
    }

    /// Responses not consumed yet.
    pub fn pending(&self) -> usize {
        self.script.lock().unwrap().responses.len()
    }
}

struct ScriptedChannel {
    index: u32,
    script: Arc<Mutex<Script>>,
}

impl Channel for ScriptedChannel {
    fn server_index(&self) -> u32 {
        self.index
    }

    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        self.script.lock().unwrap().requests.push(message.to_vec());
        Ok(())
    }

    fn receive(&mut self) -> Result<Vec<u8>, TransportError> {
        self.script
            .lock()
            .unwrap()
            .responses
            .pop_front()
            .unwrap_or(Err(TransportError::Closed))
    }
}

impl Dialer for ScriptedPeer {
    fn server_count(&self) -> u32 {
        self.servers
    }

    fn open(&self, index: u32) -> Result<Box<dyn Channel>, TransportError> {
        if index >= self.servers {
            return Err(TransportError::NoSuchServer(index));
        }
        self.script.lock().unwrap().opened.push(index);
        Ok(Box::new(ScriptedChannel {
            index,
            script: self.script.clone(),
        }))
    }
}
