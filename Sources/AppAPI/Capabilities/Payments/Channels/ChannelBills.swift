import Foundation

/// One line of a channel's daily bill (对账单): a payment or a refund as the channel booked it.
struct ChannelBillLine: Equatable, Sendable {
    /// What the channel booked.
    enum Kind: String, Sendable { case payment, refund }
    var kind: Kind
    var tradeNo: String
    var channelTradeID: String
    /// Our refund number, for refunds.
    var refundNo: String?
    /// Integer fen, never negative (a refund's amount is what was returned).
    var amountFen: Int
    var at: Date
}

/// What the three bills share: bounded line splitting, overflow-checked sums.
enum BillCodec {
    static let maxBytes = 16 * 1024 * 1024
    static let maxLines = 100_000

    /// The text's lines without their `\r\n` or `\n`, a leading BOM dropped; bounded in size and count.
    static func lines(_ text: String) throws(ChannelWireError) -> [Substring] {
        guard text.utf8.count <= maxBytes else { throw .malformed("bill over \(maxBytes) bytes") }
        var body = Substring(text)
        if body.unicodeScalars.first == "\u{FEFF}" { body = Substring(body.unicodeScalars.dropFirst()) }
        // Split on the scalar so a "\r\n" pair (one Character) still ends a line.
        var lines = body.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            Substring(line.last == "\r" ? line.dropLast() : line)
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard lines.count <= maxLines else { throw .malformed("bill over \(maxLines) lines") }
        return lines
    }

    static func add(_ sum: inout Int, _ value: Int) throws(ChannelWireError) {
        let (total, overflow) = sum.addingReportingOverflow(value)
        guard !overflow else { throw .malformed("bill totals overflow") }
        sum = total
    }

    /// A non-negative amount in yuan; bill lines never hold negative fen.
    static func yuan(_ fen: Int) -> String { Yuan.format(fen: max(0, fen)) }

    /// `YYYY-MM-DD` as `pattern`, or the text unchanged when it is not a date.
    static func day(_ day: String, _ pattern: String, plusDays: Int = 0) -> String {
        guard let start = try? ChannelCodec.parseChinaTime(day, "yyyy-MM-dd", "day") else { return day }
        return ChannelCodec.chinaTime(start.addingTimeInterval(TimeInterval(plusDays * 86_400)), pattern)
    }
}

/// Alipay's business detail bill (业务明细): UTF-8 CSV of `#` comment lines, a column header row, one row per trade or
/// refund, an end marker and `#` summary lines.
///
/// The real file is GBK, zipped, with trailing tabs in fields; the sandbox writes plain UTF-8 without padding. As Alipay
/// does, a refund row is 业务类型 `退款` with negative 订单金额 and 商家实收; its 退款批次号/请求号 is our refund number.
/// Columns are found by name, so their order may vary; identifiers may not contain commas.
enum AlipayBill {
    static let columns = [
        "支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间", "完成时间", "门店编号", "门店名称", "操作员", "终端号", "对方账户", "订单金额（元）",
        "商家实收（元）", "支付宝红包（元）", "集分宝（元）", "支付宝优惠（元）", "商家优惠（元）", "券核销金额（元）", "券名称", "商家红包消费金额（元）", "卡消费金额（元）",
        "退款批次号/请求号", "服务费（元）", "分润（元）", "备注",
    ]
    private static let listStart = "#-----------------------------------------业务明细列表----------------------------------------"
    private static let listEnd = "#-----------------------------------------业务明细列表结束------------------------------------"

    /// The bill of `day` (`YYYY-MM-DD`, China time).
    static func encode(_ lines: [ChannelBillLine], day: String) -> String {
        let dayPattern = "yyyy年MM月dd日 HH:mm:ss"
        var out = [
            "#支付宝业务明细查询", "#账号：[沙箱商户]",
            "#起始日期：[\(BillCodec.day(day, dayPattern))]   终止日期：[\(BillCodec.day(day, dayPattern, plusDays: 1))]", listStart,
            columns.joined(separator: ","),
        ]
        var (payments, paid, refunds, refunded) = (0, 0, 0, 0)
        for line in lines {
            let time = ChannelCodec.chinaTime(line.at, ChannelCodec.plainTime)
            let refund = line.kind == .refund
            let amount = (refund ? "-" : "") + BillCodec.yuan(line.amountFen)
            if refund {
                (refunds, refunded) = (refunds + 1, refunded &+ line.amountFen)
            } else {
                (payments, paid) = (payments + 1, paid &+ line.amountFen)
            }
            let row = [
                line.channelTradeID, line.tradeNo, refund ? "退款" : "交易", "", time, time, "", "", "", "", "", amount, amount, "0.00", "0.00", "0.00",
                "0.00",
                "0.00", "", "0.00", "0.00", refund ? line.refundNo ?? "" : "", "0.00", "0.00", "",
            ]
            out.append(row.joined(separator: ","))
        }
        out += [listEnd] + summary(payments, paid, refunds, refunded) + ["#导出时间：[\(BillCodec.day(day, dayPattern, plusDays: 1))]"]
        return out.joined(separator: "\n") + "\n"
    }

    /// The bill's lines; rejects a wrong header, a bad row, an amount of the wrong sign or a summary that does not add up.
    static func decode(_ text: String) throws(ChannelWireError) -> [ChannelBillLine] {
        let lines = try BillCodec.lines(text)
        guard let headerIndex = lines.firstIndex(where: { !$0.hasPrefix("#") }) else { throw .malformed("no column header") }
        let header = lines[headerIndex].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard Set(header) == Set(columns), header.count == columns.count else { throw .malformed("column header") }
        let at = Dictionary(uniqueKeysWithValues: header.enumerated().map { ($1, $0) })
        func column(_ row: [Substring], _ name: String) -> String { String(row[at[name] ?? 0]) }

        var result: [ChannelBillLine] = []
        var (paid, refunded) = (0, 0)
        var index = headerIndex + 1
        while index < lines.count, lines[index] != listEnd {
            let row = lines[index].split(separator: ",", omittingEmptySubsequences: false)
            guard row.count == columns.count else { throw .malformed("row \(index + 1) has \(row.count) fields") }
            var line = ChannelBillLine(
                kind: .payment, tradeNo: try ChannelCodec.identifier(column(row, "商户订单号"), "商户订单号"),
                channelTradeID: try ChannelCodec.identifier(column(row, "支付宝交易号"), "支付宝交易号"), refundNo: nil, amountFen: 0,
                at: try ChannelCodec.parseChinaTime(column(row, "完成时间"), ChannelCodec.plainTime, "完成时间"))
            let amount = column(row, "订单金额（元）")
            let batch = column(row, "退款批次号/请求号")
            switch column(row, "业务类型") {
            case "交易":
                guard batch.isEmpty else { throw .malformed("row \(index + 1): a trade with a refund number") }
                line.amountFen = try Yuan.parseFen(amount)
                try BillCodec.add(&paid, line.amountFen)
            case "退款":
                guard amount.hasPrefix("-") else { throw .malformed("row \(index + 1): a refund not negative") }
                line.kind = .refund
                line.amountFen = try Yuan.parseFen(String(amount.dropFirst()))
                line.refundNo = try ChannelCodec.identifier(batch, "退款批次号/请求号")
                try BillCodec.add(&refunded, line.amountFen)
            default:
                throw .malformed("row \(index + 1): 业务类型")
            }
            result.append(line)
            index += 1
        }
        guard index < lines.count else { throw .malformed("no end of the detail list") }
        let trailer = lines[(index + 1)...]
        guard trailer.allSatisfy({ $0.hasPrefix("#") }) else { throw .malformed("rows after the detail list") }
        let payments = result.filter { $0.kind == .payment }.count
        for expected in summary(payments, paid, result.count - payments, refunded) where !trailer.contains(Substring(expected)) {
            throw .malformed("summary \(expected.prefix(8)) does not match the rows")
        }
        return result
    }

    private static func summary(_ payments: Int, _ paid: Int, _ refunds: Int, _ refunded: Int) -> [String] {
        [
            "#交易合计：\(payments)笔，商家实收：\(BillCodec.yuan(paid))元，商家优惠：0.00元",
            "#退款合计：\(refunds)笔，商家实收：\(refunds == 0 ? "" : "-")\(BillCodec.yuan(refunded))元，商家优惠：0.00元",
        ]
    }
}

/// WeChat Pay's trade bill (交易账单, bill_type ALL): a CSV header row, one row per payment (`SUCCESS`) or refund (`REFUND`)
/// with every field prefixed by a backtick, then the summary header and one summary row.
///
/// As the real bill does, a refund row's 应结订单金额 and 订单金额 hold the trade amount; the sandbox has no trade amount
/// there and writes `0.00`, with the refund in 退款金额 and 申请退款金额. Fees are zero; 用户标识 is left empty.
enum WechatBill {
    static let columns = [
        "交易时间", "公众账号ID", "商户号", "特约商户号", "设备号", "微信订单号", "商户订单号", "用户标识", "交易类型", "交易状态", "付款银行", "货币种类", "应结订单金额", "代金券金额",
        "微信退款单号", "商户退款单号", "退款金额", "充值券退款金额", "退款类型", "退款状态", "商品名称", "商户数据包", "手续费", "费率", "订单金额", "申请退款金额", "费率备注",
    ]
    static let summaryColumns = ["总交易单数", "应结订单总金额", "退款总金额", "充值券退款总金额", "手续费总金额", "订单总金额", "申请退款总金额"]

    /// The bill of `day` for the merchant `merchantID` under `appID`.
    static func encode(_ lines: [ChannelBillLine], day: String, appID: String, merchantID: String) -> String {
        var out = [columns.joined(separator: ",")]
        var (paid, refunded) = (0, 0)
        for line in lines {
            let refund = line.kind == .refund
            let amount = BillCodec.yuan(line.amountFen)
            if refund { refunded &+= line.amountFen } else { paid &+= line.amountFen }
            let refundID = refund ? "50" + ChannelCodec.derivedDigits(27, from: line.refundNo ?? line.tradeNo) : "0"
            let row = [
                ChannelCodec.chinaTime(line.at, ChannelCodec.plainTime), appID, merchantID, "0", "", line.channelTradeID, line.tradeNo, "", "APP",
                refund ? "REFUND" : "SUCCESS", "OTHERS", "CNY", refund ? "0.00" : amount, "0.00", refundID, refund ? line.refundNo ?? "" : "0",
                refund ? amount : "0.00", "0.00", refund ? "ORIGINAL" : "", refund ? "SUCCESS" : "", "", "", "0.00000", "0.00%",
                refund ? "0.00" : amount,
                refund ? amount : "0.00", "",
            ]
            out.append(backticked(row))
        }
        out.append(summaryColumns.joined(separator: ","))
        out.append(backticked(summary(lines.count, paid, refunded)))
        return out.joined(separator: "\r\n") + "\r\n"
    }

    /// The bill's lines; rejects a wrong header, a field without its backtick, a bad amount or a summary that does not add up.
    static func decode(_ text: String) throws(ChannelWireError) -> [ChannelBillLine] {
        let lines = try BillCodec.lines(text)
        guard lines.first == Substring(columns.joined(separator: ",")) else { throw .malformed("column header") }
        guard let summaryIndex = lines.firstIndex(of: Substring(summaryColumns.joined(separator: ","))), summaryIndex == lines.count - 2 else {
            throw .malformed("summary rows")
        }
        var result: [ChannelBillLine] = []
        var (paid, refunded) = (0, 0)
        for index in 1..<summaryIndex {
            let row = try fields(lines[index], count: columns.count, row: index + 1)
            var line = ChannelBillLine(
                kind: .payment, tradeNo: try ChannelCodec.identifier(row[6], "商户订单号"), channelTradeID: try ChannelCodec.identifier(row[5], "微信订单号"),
                refundNo: nil, amountFen: 0, at: try ChannelCodec.parseChinaTime(row[0], ChannelCodec.plainTime, "交易时间"))
            switch row[9] {
            case "SUCCESS":
                line.amountFen = try Yuan.parseFen(row[12])
                try BillCodec.add(&paid, line.amountFen)
            case "REFUND":
                line.kind = .refund
                line.refundNo = try ChannelCodec.identifier(row[15], "商户退款单号")
                line.amountFen = try Yuan.parseFen(row[16])
                _ = try Yuan.parseFen(row[12])
                try BillCodec.add(&refunded, line.amountFen)
            default:
                throw .malformed("row \(index + 1): 交易状态")
            }
            result.append(line)
        }
        let totals = try fields(lines[summaryIndex + 1], count: summaryColumns.count, row: summaryIndex + 2)
        guard totals == summary(result.count, paid, refunded) else { throw .malformed("summary does not match the rows") }
        return result
    }

    private static func summary(_ count: Int, _ paid: Int, _ refunded: Int) -> [String] {
        [String(count), BillCodec.yuan(paid), BillCodec.yuan(refunded), "0.00", "0.00000", BillCodec.yuan(paid), BillCodec.yuan(refunded)]
    }

    private static func backticked(_ fields: [String]) -> String { fields.map { "`" + $0 }.joined(separator: ",") }

    private static func fields(_ line: Substring, count: Int, row: Int) throws(ChannelWireError) -> [String] {
        let fields = line.split(separator: ",", omittingEmptySubsequences: false)
        guard fields.count == count, fields.allSatisfy({ $0.hasPrefix("`") }) else {
            throw .malformed("row \(row) is not \(count) backticked fields")
        }
        return fields.map { String($0.dropFirst()) }
    }
}

/// UnionPay's merchant settlement file (对账文件), reduced to one documented text layout; the real one is fixed-width and
/// zipped. Lines are `|`-separated, amounts integer fen:
///
///     H|merId|day|rows
///     D|txnType|txnTime|merId|orderId|origOrderId|queryId|origQryId|txnAmt|currencyCode|respCode
///     T|payments|payment fen|refunds|refund fen
///
/// A consume (`01`) has our trade number as `orderId` and its `queryId`; a refund (`04`) has our refund number as
/// `orderId`, our trade number as `origOrderId`, its own `queryId` and the consume's as `origQryId`.
enum UnionPayBill {
    private static let fieldCount = 11

    /// The bill of `day` for the merchant `merchantID`.
    static func encode(_ lines: [ChannelBillLine], day: String, merchantID: String) -> String {
        var out = ["H|\(merchantID)|\(BillCodec.day(day, "yyyyMMdd"))|\(lines.count)"]
        var (payments, paid, refunds, refunded) = (0, 0, 0, 0)
        for line in lines {
            let time = ChannelCodec.chinaTime(line.at, "yyyyMMddHHmmss")
            let amount = String(max(0, line.amountFen))
            switch line.kind {
            case .payment:
                (payments, paid) = (payments + 1, paid &+ line.amountFen)
                out.append(["D", "01", time, merchantID, line.tradeNo, "", line.channelTradeID, "", amount, "156", "00"].joined(separator: "|"))
            case .refund:
                (refunds, refunded) = (refunds + 1, refunded &+ line.amountFen)
                let refundNo = line.refundNo ?? ""
                let queryID = ChannelCodec.derivedDigits(21, from: refundNo)
                out.append(
                    ["D", "04", time, merchantID, refundNo, line.tradeNo, queryID, line.channelTradeID, amount, "156", "00"].joined(separator: "|"))
            }
        }
        out.append("T|\(payments)|\(paid)|\(refunds)|\(refunded)")
        return out.joined(separator: "\n") + "\n"
    }

    /// The bill's lines; rejects a wrong header or trailer, a bad row, or totals that do not add up.
    static func decode(_ text: String) throws(ChannelWireError) -> [ChannelBillLine] {
        let lines = try BillCodec.lines(text)
        guard lines.count >= 2, let headerLine = lines.first, let trailerLine = lines.last else { throw .malformed("no header or trailer") }
        let header = headerLine.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard header.count == 4, header[0] == "H" else { throw .malformed("header") }
        let merchantID = try ChannelCodec.digits(header[1], "merId", count: 15)
        guard try ChannelCodec.integer(header[3], "rows") == lines.count - 2 else { throw .malformed("header row count") }

        var result: [ChannelBillLine] = []
        var (payments, paid, refunded) = (0, 0, 0)
        for line in lines.dropFirst().dropLast() {
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard f.count == fieldCount, f[0] == "D" else { throw .malformed("row \(result.count + 2) is not \(fieldCount) fields") }
            guard f[3] == merchantID, f[9] == "156", f[10] == "00" else { throw .malformed("row \(result.count + 2): merId, currency or respCode") }
            let at = try ChannelCodec.parseChinaTime(f[2], "yyyyMMddHHmmss", "txnTime")
            let amount = try ChannelCodec.integer(f[8], "txnAmt")
            switch f[1] {
            case "01":
                guard f[5].isEmpty, f[7].isEmpty else { throw .malformed("row \(result.count + 2): a consume with an original") }
                result.append(
                    ChannelBillLine(
                        kind: .payment, tradeNo: try ChannelCodec.identifier(f[4], "orderId"),
                        channelTradeID: try ChannelCodec.digits(f[6], "queryId", count: UnionPayWire.queryIDDigits), refundNo: nil, amountFen: amount,
                        at: at))
                payments += 1
                try BillCodec.add(&paid, amount)
            case "04":
                _ = try ChannelCodec.digits(f[6], "queryId", count: UnionPayWire.queryIDDigits)
                result.append(
                    ChannelBillLine(
                        kind: .refund, tradeNo: try ChannelCodec.identifier(f[5], "origOrderId"),
                        channelTradeID: try ChannelCodec.digits(f[7], "origQryId", count: UnionPayWire.queryIDDigits),
                        refundNo: try ChannelCodec.identifier(f[4], "orderId"),
                        amountFen: amount, at: at))
                try BillCodec.add(&refunded, amount)
            default:
                throw .malformed("row \(result.count + 2): txnType")
            }
        }
        let expected = "T|\(payments)|\(paid)|\(result.count - payments)|\(refunded)"
        guard trailerLine == Substring(expected) else { throw .malformed("trailer does not match the rows") }
        return result
    }
}
