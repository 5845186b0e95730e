import OneTripAPI
import SyncCore

/// Conversions from the shared catalog entities to the generated wire types.
extension Components.Schemas.Matter {
    init(_ matter: Matter) {
        self.init(
            code: matter.code, name: matter.name, departmentId: matter.departmentId, departmentName: matter.departmentName ?? matter.departmentId,
            domain: matter.domain, kind: matter.kind, legalDays: matter.legalDays,
            promisedDays: matter.promisedDays, promisedMinutes: matter.promisedMinutes, onsiteVisits: matter.onsiteVisits,
            fullyOnline: matter.fullyOnline, idCardOnly: matter.idCardOnly, expressDelivery: matter.expressDelivery,
            feeItemCodes: matter.feeItemCodes,
            materials: matter.materials.map {
                .init(name: $0.name, required: $0.required, paperAllowed: $0.paperAllowed, eLicenseType: $0.eLicenseType, note: $0.note)
            },
            resultLicenseType: matter.resultLicenseType, description: matter.description, keywords: matter.keywords
        )
    }
}

extension Components.Schemas.ServiceCenter {
    init(_ center: ServiceCenter) {
        self.init(
            id: center.id, name: center.name, level: center.level, district: center.district,
            address: center.address, phone: center.phone, hours: center.hours.map { .init(days: $0.days, open: $0.open, close: $0.close) },
            selfService24h: center.selfService24h, closedOnStatutoryHolidays: center.closesOnHolidays, weekendServices: center.weekendServices
        )
    }
}
