/// The payment platform's tables: orders (an index over the `payment_order` entity, locked by every money move),
/// channel trades (one order : N trades, at most one counted), refunds, the ledger every fen passes through, the
/// channel events already applied (exactly-once notifications), penalty decisions, channel keys, and the sandbox
/// channels' own state.
enum PaymentTables {
    static let payments = Migration(version: 13, name: "payments") { _ in
        [
            """
            CREATE TABLE payment_orders (
                id TEXT PRIMARY KEY, payment_code TEXT NOT NULL UNIQUE, account_id TEXT NOT NULL, department_id TEXT NOT NULL,
                case_id TEXT, decision_number TEXT, state TEXT NOT NULL, total_fen BIGINT NOT NULL, refunded_fen BIGINT NOT NULL,
                expires_at BIGINT NOT NULL, created_at BIGINT NOT NULL, paid_at BIGINT, channel TEXT, category TEXT NOT NULL)
            """,
            "CREATE INDEX payment_orders_account ON payment_orders (account_id, created_at)",
            "CREATE INDEX payment_orders_case ON payment_orders (case_id)",
            "CREATE INDEX payment_orders_decision ON payment_orders (decision_number)",
            "CREATE INDEX payment_orders_open ON payment_orders (state, expires_at)",
            """
            CREATE TABLE payment_trades (
                trade_no TEXT PRIMARY KEY, order_id TEXT NOT NULL, channel TEXT NOT NULL, amount_fen BIGINT NOT NULL, state TEXT NOT NULL,
                channel_trade_id TEXT, counted BIGINT NOT NULL, created_at BIGINT NOT NULL, settled_at BIGINT)
            """,
            "CREATE INDEX payment_trades_order ON payment_trades (order_id)",
            "CREATE INDEX payment_trades_state ON payment_trades (state, created_at)",
            // At most one trade pays an order: a second success is recorded uncounted and refunded.
            "CREATE UNIQUE INDEX payment_trades_counted ON payment_trades (order_id) WHERE counted = 1",
            """
            CREATE TABLE payment_refunds (
                refund_no TEXT PRIMARY KEY, order_id TEXT NOT NULL, trade_no TEXT NOT NULL, amount_fen BIGINT NOT NULL, state TEXT NOT NULL,
                reason TEXT NOT NULL, automatic BIGINT NOT NULL, surplus BIGINT NOT NULL, requested_by TEXT, created_at BIGINT NOT NULL, settled_at BIGINT)
            """,
            "CREATE INDEX payment_refunds_order ON payment_refunds (order_id)",
            // Every fen in or out, once: a trade is entered at most once as a payment, a refund at most once.
            """
            CREATE TABLE payment_ledger (
                entry_key TEXT PRIMARY KEY, order_id TEXT NOT NULL, channel TEXT NOT NULL, kind TEXT NOT NULL, trade_no TEXT NOT NULL,
                refund_no TEXT, amount_fen BIGINT NOT NULL, category TEXT NOT NULL, day TEXT NOT NULL, at BIGINT NOT NULL)
            """,
            "CREATE INDEX payment_ledger_day ON payment_ledger (day, channel)",
            "CREATE INDEX payment_ledger_order ON payment_ledger (order_id)",
            """
            CREATE TABLE payment_events (
                channel TEXT NOT NULL, event_id TEXT NOT NULL, trade_no TEXT NOT NULL, kind TEXT NOT NULL, received_at BIGINT NOT NULL,
                PRIMARY KEY (channel, event_id))
            """,
            """
            CREATE TABLE payment_nonces (
                channel TEXT NOT NULL, nonce TEXT NOT NULL, seen_at BIGINT NOT NULL, PRIMARY KEY (channel, nonce))
            """,
            "CREATE INDEX payment_nonces_seen ON payment_nonces (seen_at)",
            """
            CREATE TABLE penalty_decisions (
                decision_number TEXT PRIMARY KEY, fee_item_code TEXT NOT NULL, department_id TEXT NOT NULL, party_kind TEXT NOT NULL,
                party_name TEXT NOT NULL, party_id TEXT, plate TEXT, violation TEXT NOT NULL, legal_basis TEXT,
                amount_fen BIGINT NOT NULL, decided_on TEXT NOT NULL, due_on TEXT NOT NULL, paid_order_id TEXT)
            """,
            "CREATE INDEX penalty_decisions_party ON penalty_decisions (party_id)",
            // The channels' keys as the platform holds them: their public keys (and WeChat's APIv3 key). The sandbox
            // channels keep their private keys in their own table, as a real channel keeps them to itself.
            """
            CREATE TABLE payment_channel_keys (
                channel TEXT NOT NULL, key_id TEXT NOT NULL, public_pem TEXT NOT NULL, api_key TEXT, created_at BIGINT NOT NULL,
                PRIMARY KEY (channel, key_id))
            """,
            """
            CREATE TABLE sandbox_channel_keys (
                channel TEXT PRIMARY KEY, key_id TEXT NOT NULL, private_pem TEXT NOT NULL, api_key TEXT, created_at BIGINT NOT NULL)
            """,
            """
            CREATE TABLE sandbox_trades (
                channel TEXT NOT NULL, trade_no TEXT NOT NULL, channel_trade_id TEXT NOT NULL, amount_fen BIGINT NOT NULL,
                state TEXT NOT NULL, refunded_fen BIGINT NOT NULL, created_at BIGINT NOT NULL, paid_at BIGINT,
                PRIMARY KEY (channel, trade_no))
            """,
            """
            CREATE TABLE sandbox_refunds (
                channel TEXT NOT NULL, refund_no TEXT NOT NULL, trade_no TEXT NOT NULL, amount_fen BIGINT NOT NULL, at BIGINT NOT NULL,
                PRIMARY KEY (channel, refund_no))
            """,
            """
            CREATE TABLE sandbox_deliveries (
                id TEXT PRIMARY KEY, channel TEXT NOT NULL, event_id TEXT NOT NULL, notice TEXT NOT NULL, attempts BIGINT NOT NULL,
                next_at BIGINT NOT NULL, state TEXT NOT NULL, created_at BIGINT NOT NULL)
            """,
            "CREATE INDEX sandbox_deliveries_due ON sandbox_deliveries (state, next_at)",
        ]
    }

    /// One row per reconciled day, written by the daily job (the first instance to reconcile a day wins).
    static let reconciliations = Migration(version: 14, name: "payment reconciliations") { _ in
        [
            """
            CREATE TABLE payment_reconciliations (
                day TEXT PRIMARY KEY, matched BIGINT NOT NULL, discrepancies BIGINT NOT NULL, paid_fen BIGINT NOT NULL,
                refunded_fen BIGINT NOT NULL, reconciled_at BIGINT NOT NULL)
            """
        ]
    }
}
