import Metrics
import Prometheus

/// The process-wide Prometheus registry. swift-metrics can be bootstrapped once per process, so the first
/// application built does it and every later one (tests build many) shares the registry.
enum AppMetrics {
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    /// Prometheus text exposition of everything recorded so far.
    static func exposition() -> String { registry.emitToString() }
}
