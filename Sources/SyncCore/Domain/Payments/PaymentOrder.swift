/// Payment orders (缴款单) as the payer's phone syncs them (`user:` scope), with the state machine every order
/// moves through and the rules the server and the phone share: the 20-digit payment code and the late fee on fines.

extension EntityType {
    /// A payment order in its payer's `user:` scope.
    public static let paymentOrder = EntityType("payment_order")
}

/// The states of a payment order and the only moves between them (DESIGN.md §3).
///
/// `failed` is the last trade's refusal (a declined card, a cancelled payment): the order stays payable, and a new
/// attempt is a new channel trade (`failed → paying`). `closed` is final except for a success that arrives after the
/// close (`closed → needs_review`, refunded automatically, then `refunded`). `needs_review` is never `paid`: a clerk
/// or the automatic refund resolves it.
public enum PaymentOrderState: String, Codable, Hashable, Sendable, CaseIterable {
    case created
    case paying
    case paid
    case failed
    case closed
    case refunding
    case partiallyRefunded = "partially_refunded"
    case refunded
    case needsReview = "needs_review"

    /// Every declared move, in one table.
    public static let moves: [PaymentOrderState: Set<PaymentOrderState>] = [
        .created: [.paying, .closed],
        .paying: [.paying, .paid, .failed, .closed, .needsReview],
        .failed: [.paying, .closed],
        .closed: [.needsReview],
        .paid: [.refunding],
        .refunding: [.partiallyRefunded, .refunded, .paid],
        .partiallyRefunded: [.refunding],
        .needsReview: [.refunding, .refunded],
        .refunded: [],
    ]

    public func canMove(to next: PaymentOrderState) -> Bool { Self.moves[self]?.contains(next) ?? false }

    /// An order a payer can still start a trade for.
    public var isPayable: Bool { self == .created || self == .paying || self == .failed }

    /// An order whose money was received (some of it may have been refunded since).
    public var wasPaid: Bool { self == .paid || self == .refunding || self == .partiallyRefunded || self == .refunded }

    public var label: String {
        switch self {
        case .created: "待缴费"
        case .paying: "支付中"
        case .paid: "已缴费"
        case .failed: "支付失败"
        case .closed: "已关闭"
        case .refunding: "退款中"
        case .partiallyRefunded: "部分退款"
        case .refunded: "已退款"
        case .needsReview: "待核查"
        }
    }
}

/// The payment channels of the city's unified public payment platform.
public enum PaymentChannel: String, Codable, Hashable, Sendable, CaseIterable {
    case alipay
    case wechat
    case unionpay

    public var label: String {
        switch self {
        case .alipay: "支付宝"
        case .wechat: "微信支付"
        case .unionpay: "云闪付"
        }
    }
}

/// A payment order (缴款单). Every amount is integer fen; the server owns every field.
public struct PaymentOrder: SyncEntity, Hashable {
    public static let entityType: EntityType = .paymentOrder

    /// One fee item on the order.
    public struct Line: Codable, Hashable, Sendable {
        public var feeItemCode: String
        public var name: String
        public var category: FeeCategory
        /// The price-table entry, for fee items priced by a table.
        public var priceCode: String?
        public var quantity: Int
        public var unitAmountFen: Int
        public var amountFen: Int

        public init(
            feeItemCode: String, name: String, category: FeeCategory, priceCode: String? = nil, quantity: Int, unitAmountFen: Int, amountFen: Int
        ) {
            self.feeItemCode = feeItemCode
            self.name = name
            self.category = category
            self.priceCode = priceCode
            self.quantity = quantity
            self.unitAmountFen = unitAmountFen
            self.amountFen = amountFen
        }
    }

    public var id: String
    /// The 20-digit payment code (缴款码) printed on the notice: anyone holding it can find and pay the order.
    public var paymentCode: String
    public var title: String
    public var departmentId: String
    public var lines: [Line]
    /// The fine's 加处罚款, computed on the day the order was opened (0 for fees).
    public var lateFeeFen: Int
    public var totalFen: Int
    public var state: PaymentOrderState
    public var caseId: String?
    public var decisionNumber: String?
    /// The account the order belongs to (who opened it, or the applicant of its case).
    public var payerAccountId: String
    public var createdAt: Int64
    public var expiresAt: Int64
    public var paidAt: Int64?
    public var channel: PaymentChannel?
    /// The trade that paid it.
    public var tradeNo: String?
    public var refundedFen: Int
    /// The e-receipt (电子票据) in the payer's wallet, once paid.
    public var receiptLicenseId: String?
    /// Why the order needs review (amount mismatch, late success on a closed order, a second success).
    public var reviewReason: String?

    public init(
        id: String, paymentCode: String, title: String, departmentId: String, lines: [Line], lateFeeFen: Int = 0, totalFen: Int,
        state: PaymentOrderState = .created, caseId: String? = nil, decisionNumber: String? = nil, payerAccountId: String, createdAt: Int64,
        expiresAt: Int64, paidAt: Int64? = nil, channel: PaymentChannel? = nil, tradeNo: String? = nil, refundedFen: Int = 0,
        receiptLicenseId: String? = nil, reviewReason: String? = nil
    ) {
        self.id = id
        self.paymentCode = paymentCode
        self.title = title
        self.departmentId = departmentId
        self.lines = lines
        self.lateFeeFen = lateFeeFen
        self.totalFen = totalFen
        self.state = state
        self.caseId = caseId
        self.decisionNumber = decisionNumber
        self.payerAccountId = payerAccountId
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.paidAt = paidAt
        self.channel = channel
        self.tradeNo = tradeNo
        self.refundedFen = refundedFen
        self.receiptLicenseId = receiptLicenseId
        self.reviewReason = reviewReason
    }

    /// What can still be refunded.
    public var refundableFen: Int { state.wasPaid ? max(0, totalFen - refundedFen) : 0 }
}

/// The 20-digit payment code (缴款码): the 6-digit administrative division (330100, Hangzhou), the two-digit year,
/// 11 random digits and a Damm check digit, which catches every single wrong digit and every swap of two neighbours
/// when a payer types the code from a paper notice. (ISO 7064 MOD 11,10, the other candidate, misses about one
/// neighbour swap in seventy.)
public enum PaymentCode {
    public static let length = 20

    /// Damm's totally anti-symmetric quasigroup of order 10.
    private static let table: [[Int]] = [
        [0, 3, 1, 7, 5, 9, 8, 6, 4, 2], [7, 0, 9, 2, 1, 5, 4, 8, 6, 3], [4, 2, 0, 6, 8, 7, 1, 3, 5, 9], [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
        [6, 1, 2, 3, 0, 4, 5, 9, 7, 8], [3, 6, 7, 4, 2, 0, 9, 5, 8, 1], [5, 8, 6, 9, 7, 2, 0, 1, 3, 4], [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
        [9, 4, 3, 8, 6, 1, 7, 2, 0, 5], [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
    ]

    /// The check digit of the 19 digits before it.
    public static func checkDigit(_ body: some Collection<Character>) -> Character? {
        var interim = 0
        for character in body {
            guard character.isASCII, let digit = character.wholeNumberValue else { return nil }
            interim = table[interim][digit]
        }
        return Character(String(interim))
    }

    /// Whether `code` is 20 ASCII digits whose last is the check digit of the others.
    public static func isValid(_ code: String) -> Bool {
        guard code.utf8.count == length, code.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return false }
        return checkDigit(code.dropLast()) == code.last
    }

    /// A new code for `year` (two digits used) with 11 digits from `random`.
    public static func make(region: String = "330100", year: Int, random: () -> UInt64) -> String {
        let serial = String(random() % 100_000_000_000)
        let body = region + String(format2(year % 100)) + String(repeating: "0", count: 11 - serial.count) + serial
        return body + String(checkDigit(body)!)
    }

    private static func format2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

/// 加处罚款 (行政处罚法 第七十二条): a party who does not pay a fine by its due date owes 3% of the fine for each day
/// overdue, never more than the fine itself. Computed in whole fen, rounded down, on the day of payment.
public enum LateFee {
    public static let percentPerDay = 3

    /// The late fee on `fineFen` due on `dueOn` and paid on `paidOn` (both `YYYY-MM-DD`); 0 when paid by the due date
    /// or when a date is not a date.
    public static func fen(fineFen: Int, dueOn: String, paidOn: String) -> Int {
        guard fineFen > 0, let due = WorkingCalendar.startOfDayMillis(dueOn), let paid = WorkingCalendar.startOfDayMillis(paidOn), paid > due
        else { return 0 }
        let days = (paid - due) / 86_400_000
        // 34 days already pass the cap (102%); checking first keeps the product far from overflow.
        guard days < 34 else { return fineFen }
        let (product, overflow) = fineFen.multipliedReportingOverflow(by: Int(days) * percentPerDay)
        return overflow ? fineFen : min(fineFen, product / 100)
    }
}
