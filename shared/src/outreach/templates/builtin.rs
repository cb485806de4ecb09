//! The built-in templates: what each message says until a tenant writes its own. SMS copy stays
//! within two UCS-2 parts (134 units) with the signature and the opt-out footer, and English SMS
//! stays inside GSM-7 (no dashes or curly quotes), which the tests check.

use crate::domain::{Channel, Locale};
use crate::outreach::MessageKind;

/// A built-in template: the subject (email only) and the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Builtin {
    pub subject: Option<&'static str>,
    pub body: &'static str,
}

const fn sms(body: &'static str) -> Builtin {
    Builtin { subject: None, body }
}

const fn email(subject: &'static str, body: &'static str) -> Builtin {
    Builtin {
        subject: Some(subject),
        body,
    }
}

/// The built-in template for a kind, channel and locale.
pub fn builtin(kind: MessageKind, channel: Channel, locale: Locale) -> Builtin {
    use Channel::{Email, Sms};
    use Locale::{En, ZhCn};
    use MessageKind::*;
    match (kind, channel, locale) {
        // 生日关怀: a greeting naming the birthday-month gift.
        (Birthday, Sms, ZhCn) => sms(
            "亲爱的{{ client_name }}，祝您生日快乐！{% if offer %}生日当月到店即可享受{{ offer }}，{% endif %}\
             {{ store_name }}期待您的光临。",
        ),
        (Birthday, Sms, En) => sms(
            "Happy birthday, {{ client_name }}! {% if offer %}Our gift to you this month: {{ offer }}. {% endif %}\
             We look forward to seeing you at {{ store_name }}.",
        ),
        (Birthday, Email, ZhCn) => email(
            "{{ client_name }}，{{ salon_name }}祝您生日快乐",
            "亲爱的{{ client_name }}：\n\n\
             祝您生日快乐！感谢您一直以来对{{ salon_name }}的信任与支持。\n\n\
             {% if offer %}生日当月，您可到{{ store_name }}享受我们为您准备的生日礼：{{ offer }}。\n\n{% endif %}\
             期待在{{ store_name }}与您相见{% if store_phone %}，预约电话：{{ store_phone }}{% endif %}。\n\n\
             {{ salon_name }} 敬上",
        ),
        (Birthday, Email, En) => email(
            "Happy birthday, {{ client_name }}, from {{ salon_name }}",
            "Dear {{ client_name }},\n\n\
             Happy birthday! Thank you for choosing {{ salon_name }}; it is a pleasure to look after you.\n\n\
             {% if offer %}As our birthday-month gift, {{ offer }} is waiting for you at {{ store_name }}.\n\n{% endif %}\
             We look forward to welcoming you at {{ store_name }}\
             {% if store_phone %} (book on {{ store_phone }}){% endif %}.\n\n\
             Warm wishes,\n{{ salon_name }}",
        ),
        // 满意度调研: the visit, and the personal link to the survey.
        (Survey, Sms, ZhCn) => sms(
            "{{ client_name }}您好，感谢您{% if date %}{{ date }}{% endif %}光临{{ store_name }}。\
             诚邀您花1分钟评价本次服务：{{ link }}",
        ),
        (Survey, Sms, En) => sms(
            "Hi {{ client_name }}, thank you for visiting {{ store_name }}{% if date %} on {{ date }}{% endif %}. \
             How did we do? Tell us in 1 minute: {{ link }}",
        ),
        (Survey, Email, ZhCn) => email(
            "{{ store_name }}邀您评价本次服务",
            "{{ client_name }}您好：\n\n\
             感谢您{% if date %}于{{ date }}{% endif %}光临{{ store_name }}。\
             为了给您更好的体验，想请您花1分钟为本次服务打分：\n\n\
             {{ link }}\n\n\
             链接7天内有效。您的每一条意见我们都会认真阅读。\n\n\
             {{ salon_name }}",
        ),
        (Survey, Email, En) => email(
            "How was your visit to {{ store_name }}?",
            "Hi {{ client_name }},\n\n\
             Thank you for visiting {{ store_name }}{% if date %} on {{ date }}{% endif %}. \
             Would you take a minute to tell us how it went?\n\n\
             {{ link }}\n\n\
             The link is valid for 7 days. We read every answer.\n\n\
             {{ salon_name }}",
        ),
        // 三级响应: a new complaint, to the store manager.
        (ComplaintAlert, Sms, ZhCn) => sms(
            "{% if staff_name %}{{ staff_name }}，{% endif %}{{ store_name }}客户{{ client_name }}提交了投诉\
             {% if complaint_summary %}：{{ complaint_summary }}{% endif %}。请在1小时内回电客户。\
             {% if link %}详情：{{ link }}{% endif %}",
        ),
        (ComplaintAlert, Sms, En) => sms(
            "New complaint at {{ store_name }} from {{ client_name }}\
             {% if complaint_summary %}: \"{{ complaint_summary }}\"{% endif %}. \
             Please call the client back within 1 hour.{% if link %} {{ link }}{% endif %}",
        ),
        (ComplaintAlert, Email, ZhCn) => email(
            "【投诉提醒】{{ store_name }}：{{ client_name }}",
            "{% if staff_name %}{{ staff_name }}您好：\n\n{% endif %}\
             {{ store_name }}收到客户{{ client_name }}的投诉{% if date %}（到店日期：{{ date }}）{% endif %}。\n\n\
             {% if complaint_summary %}客户反馈：{{ complaint_summary }}\n\n{% endif %}\
             按三级响应流程，请在1小时内回电客户，24小时内记录解决方案，7天后回访结果。\
             {% if link %}\n\n处理投诉：{{ link }}{% endif %}",
        ),
        (ComplaintAlert, Email, En) => email(
            "Complaint at {{ store_name }}: {{ client_name }}",
            "{% if staff_name %}Hello {{ staff_name }},\n\n{% endif %}\
             {{ client_name }} has made a complaint about a visit to {{ store_name }}\
             {% if date %} on {{ date }}{% endif %}.\n\n\
             {% if complaint_summary %}What the client said: {{ complaint_summary }}\n\n{% endif %}\
             Please call the client back within 1 hour, record a solution within 24 hours, \
             and follow up 7 days later.\
             {% if link %}\n\nHandle the complaint: {{ link }}{% endif %}",
        ),
        // 三级响应: a step's deadline passed; the next level takes over.
        (Escalation, Sms, ZhCn) => sms(
            "{% if staff_name %}{{ staff_name }}，{% endif %}{{ store_name }}客户{{ client_name }}的投诉处理已超时，\
             现升级由您跟进{% if complaint_summary %}。反馈：{{ complaint_summary }}{% endif %}。\
             {% if link %}详情：{{ link }}{% endif %}",
        ),
        (Escalation, Sms, En) => sms(
            "Escalated to you: the complaint from {{ client_name }} at {{ store_name }} is overdue\
             {% if complaint_summary %} (\"{{ complaint_summary }}\"){% endif %}. \
             Please follow up now.{% if link %} {{ link }}{% endif %}",
        ),
        (Escalation, Email, ZhCn) => email(
            "【投诉升级】{{ store_name }}：{{ client_name }}",
            "{% if staff_name %}{{ staff_name }}您好：\n\n{% endif %}\
             {{ store_name }}客户{{ client_name }}的投诉有一步未在时限内完成，现升级由您跟进。\n\n\
             {% if complaint_summary %}客户反馈：{{ complaint_summary }}\n\n{% endif %}\
             请尽快联系门店与客户，并在系统中记录处理结果。\
             {% if link %}\n\n查看投诉：{{ link }}{% endif %}",
        ),
        (Escalation, Email, En) => email(
            "Escalated complaint at {{ store_name }}: {{ client_name }}",
            "{% if staff_name %}Hello {{ staff_name }},\n\n{% endif %}\
             A step of the complaint from {{ client_name }} at {{ store_name }} missed its deadline, \
             so it has been escalated to you.\n\n\
             {% if complaint_summary %}What the client said: {{ complaint_summary }}\n\n{% endif %}\
             Please contact the store and the client, and record the outcome.\
             {% if link %}\n\nSee the complaint: {{ link }}{% endif %}",
        ),
        // 唤醒关怀: a dormant client, with the return offer.
        (WakeUp, Sms, ZhCn) => sms(
            "{{ client_name }}，好久不见，{{ store_name }}很想念您！\
             {% if offer %}为您准备了专属回归礼遇：{{ offer }}，{% endif %}欢迎随时预约\
             {% if store_phone %}（{{ store_phone }}）{% endif %}。",
        ),
        (WakeUp, Sms, En) => sms(
            "Hi {{ client_name }}, we miss you at {{ store_name }}! \
             {% if offer %}Your welcome-back gift: {{ offer }}. {% endif %}\
             Book your next visit{% if store_phone %} on {{ store_phone }}{% endif %}.",
        ),
        (WakeUp, Email, ZhCn) => email(
            "{{ client_name }}，{{ store_name }}想念您了",
            "亲爱的{{ client_name }}：\n\n\
             好久不见，{{ store_name }}的伙伴们都很想念您！\n\n\
             {% if offer %}我们为您准备了专属回归礼遇：{{ offer }}，欢迎回来体验。\n\n{% endif %}\
             欢迎随时预约{% if store_phone %}，电话：{{ store_phone }}{% endif %}。期待再次为您服务。\n\n\
             {{ salon_name }} 敬上",
        ),
        (WakeUp, Email, En) => email(
            "We miss you at {{ store_name }}, {{ client_name }}",
            "Dear {{ client_name }},\n\n\
             It has been a while, and all of us at {{ store_name }} miss you.\n\n\
             {% if offer %}To welcome you back, we have set aside {{ offer }} for you.\n\n{% endif %}\
             Book your next visit whenever it suits you\
             {% if store_phone %}; call us on {{ store_phone }}{% endif %}. We would love to see you again.\n\n\
             Warm wishes,\n{{ salon_name }}",
        ),
        // Account messages (not a salon's template, not editable): the link to choose a
        // password, single use. The hours are `tenancy::passwords`'s validity.
        (StaffInvitation, Sms, ZhCn) => sms(
            "{% if staff_name %}{{ staff_name }}，{% endif %}{{ salon_name }}为您开通了门店系统账号，\
             请在72小时内设置登录密码：{{ link }}",
        ),
        (StaffInvitation, Sms, En) => sms(
            "{{ salon_name }} has made you an account. Choose your password within 72 hours: {{ link }}",
        ),
        (StaffInvitation, Email, ZhCn) => email(
            "{{ salon_name }}邀请您使用门店系统",
            "{% if staff_name %}{{ staff_name }}您好：\n\n{% endif %}\
             {{ salon_name }}为您开通了门店系统的账号。请在72小时内打开下面的链接，设置您自己的登录密码：\n\n\
             {{ link }}\n\n\
             链接只能使用一次。如果您没有预期收到这封邮件，请忽略它。",
        ),
        (StaffInvitation, Email, En) => email(
            "{{ salon_name }} invites you to its salon system",
            "{% if staff_name %}Hello {{ staff_name }},\n\n{% endif %}\
             {{ salon_name }} has made you an account. Open this link within 72 hours to choose your own password:\n\n\
             {{ link }}\n\n\
             The link works once. If you were not expecting this email, you can ignore it.",
        ),
        (PasswordReset, Sms, ZhCn) => sms("{{ salon_name }}：重设密码请在1小时内打开 {{ link }}，非本人操作请忽略。"),
        (PasswordReset, Sms, En) => sms(
            "{{ salon_name }}: reset your password within 1 hour at {{ link }}. Not you? Ignore this message.",
        ),
        (PasswordReset, Email, ZhCn) => email(
            "重设您在{{ salon_name }}的密码",
            "{% if staff_name %}{{ staff_name }}您好：\n\n{% endif %}\
             我们收到了重设您{{ salon_name }}账号密码的请求。请在1小时内打开下面的链接设置新密码：\n\n\
             {{ link }}\n\n\
             链接只能使用一次。如果不是您本人操作，请忽略这封邮件，您的密码不会改变。",
        ),
        (PasswordReset, Email, En) => email(
            "Reset your {{ salon_name }} password",
            "{% if staff_name %}Hello {{ staff_name }},\n\n{% endif %}\
             Someone asked to reset the password of your {{ salon_name }} account. Open this link within 1 hour \
             to choose a new one:\n\n\
             {{ link }}\n\n\
             The link works once. If it was not you, ignore this email: your password stays as it is.",
        ),
    }
}
