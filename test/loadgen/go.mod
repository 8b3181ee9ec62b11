module mesh-cert.test/loadgen

go 1.22
