module mesh-cert.test/loadgen

go 1.26.0
