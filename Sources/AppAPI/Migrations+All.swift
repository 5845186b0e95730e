/// Every migration of the server, in version order. Each capability declares its own steps in its folder (and the
/// sync engine its own); versions are global, so this one short list is where a new step takes the next number.
enum AppMigrations {
    static let all: [Migration] = [
        ChangeLogTables.changeLog,  // 1
        CatalogTables.catalog,  // 2
        IdentityTables.identity,  // 3
        ChangeLogTables.syncClients,  // 4
        BlobTables.blobs,  // 5
        CaseTables.cases,  // 6
        ChangeLogTables.syncResets,  // 7
        AppointmentTables.appointments,  // 8
        ChangeLogTables.hardening,  // 9
        CaseTables.citations,  // 10
        IdentityTables.attempts,  // 11
        WalletTables.wallet,  // 12
        PaymentTables.payments,  // 13
        PaymentTables.reconciliations,  // 14
    ]
}
