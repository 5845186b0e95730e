/// The OneTrip contract's wire types (`Components`, `Operations`), generated from `openapi.yaml` by the build plugin.
/// The server generates its `APIProtocol` and the client its `Client` over these same types.
