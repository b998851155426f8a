"""What tests, the chaos run and the benchmarks share: payloads, the platform's test
settings, theme bundles and the sandbox process."""
