import PostgresNIO
import SQLiteNIO

/// Whether `error` is a unique-constraint violation, on either engine (the one place that knows their errors).
func isUniqueViolation(_ error: any Error) -> Bool {
    if let error = error as? PSQLError {
        return error.serverInfo?[.sqlState] == PostgresError.Code.uniqueViolation.raw
    }
    if let error = error as? SQLiteError {
        return [.constraint, .constraintUniqueFailed, .constraintPrimaryKeyFailed].contains(error.reason)
    }
    return false
}
