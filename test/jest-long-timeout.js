// Integration and e2e suites start real servers (kube-apiserver, OVN, OVS): tests and hooks get minutes, and
// every wait inside them is bounded on its own with a message saying what it waited for.
jest.setTimeout(300000);
