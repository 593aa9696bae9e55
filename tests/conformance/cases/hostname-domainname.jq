# hostname and domainname in a uts namespace.
.hostname = "conformance-host" | .domainname = "example.test"
