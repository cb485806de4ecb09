//! The console's strings in zh-CN and English, one catalog. A page's language is the staff
//! member's own choice (`staff.locale`, set with the switch in the header), else the browser's
//! `Accept-Language`, else English.
//!
//! Templates call `t("key")` (placeholders: `t("clients.found", n=3)` fills `{n}`); Rust calls
//! [`text`]. A unit test checks that every key a template uses exists in both languages.
//! Validation messages from the model are English sentences with a stable code: [`field_error`]
//! shows `err.<code>` when the catalog has it (and the English sentence otherwise).

use actix_web::http::header;
use actix_web::HttpRequest;
use shared::domain::Locale;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    ZhCn,
    En,
}

impl Lang {
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn from_tag(tag: &str) -> Lang {
        if tag == "zh-CN" {
            Lang::ZhCn
        } else {
            Lang::En
        }
    }
}

impl From<Locale> for Lang {
    fn from(locale: Locale) -> Lang {
        match locale {
            Locale::ZhCn => Lang::ZhCn,
            Locale::En => Lang::En,
        }
    }
}

/// The first language of `Accept-Language` that the console speaks (by its order, ignoring
/// q-values of 0); English when none.
pub fn from_accept_language(req: &HttpRequest) -> Lang {
    let Some(value) = req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()) else {
        return Lang::En;
    };
    let mut ranked: Vec<(f32, usize, Lang)> = value
        .split(',')
        .enumerate()
        .filter_map(|(i, part)| {
            let mut pieces = part.split(';');
            let tag = pieces.next()?.trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()))
                .unwrap_or(1.0);
            let lang = if tag == "zh" || tag.starts_with("zh-") {
                Lang::ZhCn
            } else if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else {
                return None;
            };
            (q > 0.0).then_some((q, i, lang))
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked.first().map_or(Lang::En, |r| r.2)
}

/// The string `key` in `lang`.
pub fn text(key: &str, lang: Lang) -> Option<&'static str> {
    CATALOG
        .binary_search_by(|(k, _, _)| k.cmp(&key))
        .ok()
        .map(|i| match lang {
            Lang::En => CATALOG[i].1,
            Lang::ZhCn => CATALOG[i].2,
        })
}

/// Whether `key` is a flash message (only those are shown from the flash cookie).
pub fn is_flash(key: &str) -> bool {
    key.starts_with("flash.") && text(key, Lang::En).is_some()
}

/// A field error for the form: in Chinese by its code where the catalog has it.
pub fn field_error(code: &str, message: &str, lang: Lang) -> String {
    match lang {
        Lang::En => message.to_owned(),
        Lang::ZhCn => text(&format!("err.{code}"), lang).map_or_else(|| message.to_owned(), str::to_owned),
    }
}

/// A field's label for error lists (`field.<name>`, else the name itself).
pub fn field_label(field: &str, lang: Lang) -> String {
    text(&format!("field.{field}"), lang).map_or_else(|| field.to_owned(), str::to_owned)
}

/// (key, English, 简体中文), sorted by key (a unit test checks the order).
pub static CATALOG: &[(&str, &str, &str)] = &[
    ("channel.email", "Email", "邮件"),
    ("channel.sms", "SMS", "短信"),
    ("checklist.add_store", "Add your first store (its time zone and quiet hours)", "添加第一家门店（时区与免打扰时段）"),
    ("checklist.done", "done", "已完成"),
    ("checklist.import_clients", "Import your clients from a spreadsheet", "从表格导入客户档案"),
    ("checklist.invite_staff", "Invite your staff", "邀请员工"),
    ("checklist.lede", "A few steps and the salon is ready for its first client.", "完成以下几步，门店即可接待第一位客户。"),
    ("checklist.review_rules", "Review the care automations (birthday, survey, wake-up)", "检查关怀自动化规则（生日、回访、唤醒）"),
    ("checklist.sms_provider", "Choose the SMS provider and signature", "选择短信服务商与签名"),
    ("checklist.title", "Getting started", "开始使用"),
    ("client.aggregates", "Visits and spending", "到店与消费"),
    ("client.consent", "Marketing consent", "营销同意"),
    ("client.consent_at", "Given or withdrawn", "同意/撤回时间"),
    ("client.consent_no", "No consent to marketing", "未同意营销信息"),
    ("client.consent_source", "How", "方式"),
    ("client.consent_yes", "Agreed to marketing messages", "已同意接收营销信息"),
    ("client.edit", "Edit", "编辑"),
    ("client.erased", "This client's personal data was erased on request.", "该客户的个人信息已应其要求删除。"),
    ("client.first_visit", "First visit", "首次到店"),
    ("client.last_visit", "Last visit", "最近到店"),
    ("client.no_timeline", "Nothing yet", "暂无记录"),
    ("client.no_timeline_text", "Visits, messages and surveys will show here.", "到店、消息与回访记录会显示在这里。"),
    ("client.profile", "Profile", "基本资料"),
    ("client.record_visit", "Record a visit", "登记消费"),
    ("client.sensitive", "Allergies and medical notes", "过敏与健康信息"),
    ("client.sensitive_audited", "Your reading of these fields was recorded in the audit log.", "本次查看已记入审计日志。"),
    ("client.sensitive_hidden", "Hidden. Showing them is recorded in the audit log.", "已隐藏。查看将记入审计日志。"),
    ("client.show_sensitive", "Show allergies and medical notes", "查看过敏与健康信息"),
    ("client.tags", "Tags", "标签"),
    ("client.timeline", "Timeline", "时间线"),
    ("client.total_spent", "Total spent", "累计消费"),
    ("client.visit_count", "Visits", "到店次数"),
    ("client_form.conflict_text", "Someone else saved this client while you were editing. Your changes are still in the form below: check them against the new record and save again.", "在您编辑期间，其他同事已保存了该客户的资料。您的修改仍保留在下方表单中：请核对后再次保存。"),
    ("client_form.conflict_title", "This client was changed meanwhile", "该客户资料已被他人修改"),
    ("client_form.edit_title", "Edit client", "编辑客户"),
    ("client_form.new_title", "New client", "新建客户"),
    ("clients.empty", "No clients yet", "还没有客户"),
    ("clients.empty_text", "Add your first client, or import them from a spreadsheet.", "添加第一位客户，或从表格导入。"),
    ("clients.found", "{n} found", "找到 {n} 位"),
    ("clients.last", "last {date}", "最近 {date}"),
    ("clients.new", "New client", "新建客户"),
    ("clients.no_phone", "no phone", "无电话"),
    ("clients.none_found", "No client matches “{q}”", "没有与“{q}”匹配的客户"),
    ("clients.none_found_text", "Check the spelling, try the last four digits of the phone, or add the client.", "请检查输入，或试试手机号后四位，也可以新建客户。"),
    ("clients.pick_title", "Who is the visit for?", "为哪位客户登记？"),
    ("clients.recent", "Clients A–Z", "全部客户（按姓名）"),
    ("clients.search", "Search", "搜索"),
    ("clients.search_hint", "Name, pinyin initials (zsf), the start of a phone number or its last four digits. ↓ to go through the results, Enter to open.", "姓名、拼音首字母（如 zsf）、手机号开头或后四位。按 ↓ 浏览结果，回车打开。"),
    ("clients.search_label", "Find a client", "查找客户"),
    ("clients.title", "Clients", "客户"),
    ("clients.visits_n", "{n} visits", "到店 {n} 次"),
    ("complaint.step.callback", "call back", "待回电"),
    ("complaint.step.done", "steps done", "步骤已完成"),
    ("complaint.step.follow_up", "follow up", "待回访"),
    ("complaint.step.solution", "record a solution", "待给出方案"),
    ("err.duplicate_phone", "", "该手机号已属于另一位客户"),
    ("err.email_taken", "", "该邮箱已注册"),
    ("err.in_the_future", "", "不能晚于当前时间"),
    ("err.incomplete_line", "", "自填项目需要填写说明和金额"),
    ("err.invalid_amount", "", "请输入金额，例如 398 或 398.50"),
    ("err.invalid_birthday", "", "请按 月-日 或 年-月-日 填写，例如 03-08"),
    ("err.invalid_email", "", "邮箱格式不正确"),
    ("err.invalid_phone", "", "手机号码格式不正确"),
    ("err.invalid_time", "", "时间格式不正确"),
    ("err.required", "", "必填"),
    ("err.too_long", "", "内容过长"),
    ("err.too_short", "", "太短"),
    ("err.unknown_service", "", "没有这个服务项目"),
    ("err.unsupported_locale", "", "请选择简体中文或英文"),
    ("error.bad_form.text", "Go back, check what you entered and try again.", "请返回检查填写内容后重试。"),
    ("error.bad_form.title", "This form could not be saved", "表单无法保存"),
    ("error.csrf.text", "The form was too old or came from another site. Go back, reload the page and try again.", "表单已过期或来自其他网站。请返回、刷新页面后重试。"),
    ("error.csrf.title", "This request was refused", "请求被拒绝"),
    ("error.forbidden.text", "Your role does not include this screen. Ask your manager if you need it.", "您的角色无权使用此页面。如需使用，请联系店长或管理员。"),
    ("error.forbidden.title", "Not available for your role", "您的角色无权访问"),
    ("error.internal.text", "Something went wrong on our side. Please try again in a moment.", "系统出了点问题，请稍后再试。"),
    ("error.internal.title", "Something went wrong", "出错了"),
    ("error.not_found.text", "It may have been removed, or the link is wrong.", "它可能已被删除，或链接有误。"),
    ("error.not_found.title", "Not found", "找不到该页面"),
    ("error.unavailable.text", "The database is busy or unreachable. Please try again in a moment.", "数据库繁忙或暂时无法连接，请稍后再试。"),
    ("error.unavailable.title", "Temporarily unavailable", "暂时无法使用"),
    ("field.allergies", "Allergies", "过敏史"),
    ("field.birthday", "Birthday", "生日"),
    ("field.completed_at", "When", "消费时间"),
    ("field.consent_source", "How consent was given", "同意方式"),
    ("field.discount", "Discount (¥)", "优惠（元）"),
    ("field.email", "Email", "邮箱"),
    ("field.gender", "Gender", "性别"),
    ("field.home_store_id", "Home store", "所属门店"),
    ("field.lines", "Services", "消费项目"),
    ("field.locale", "Language", "语言"),
    ("field.marketing_consent", "Agrees to marketing messages (birthday, wake-up)", "同意接收营销信息（生日、唤醒关怀）"),
    ("field.medical_notes", "Medical notes", "健康备注"),
    ("field.name", "Name", "姓名"),
    ("field.notes", "Notes", "备注"),
    ("field.owner_name", "Your name", "您的姓名"),
    ("field.password", "Password", "密码"),
    ("field.payment_method", "Payment", "支付方式"),
    ("field.phone", "Mobile phone", "手机号"),
    ("field.preferences", "Preferences", "偏好"),
    ("field.preferred_channel", "Preferred channel", "首选联系方式"),
    ("field.skin_history", "Skin history", "皮肤病史"),
    ("field.skin_type", "Skin type", "肤质"),
    ("field.source", "Came through", "客户来源"),
    ("field.staff", "Served by", "服务人员"),
    ("field.store", "Store", "门店"),
    ("field.store_id", "Store", "门店"),
    ("field.tags", "Tags", "标签"),
    ("field.tenant_name", "Salon or chain name", "美容院/连锁品牌名称"),
    ("field.timezone", "Time zone", "时区"),
    ("flash.client_created", "Client added.", "客户已添加。"),
    ("flash.client_saved", "Changes saved.", "修改已保存。"),
    ("flash.locale_changed", "Language changed.", "语言已切换。"),
    ("flash.logged_out", "You are logged out.", "您已退出登录。"),
    ("flash.visit_recorded", "Visit recorded. The survey goes out tomorrow.", "消费已登记，满意度回访将于明天发送。"),
    ("flash.welcome", "Welcome! Your salon is ready.", "欢迎！您的美容院已开通。"),
    ("form.cancel", "Cancel", "取消"),
    ("form.errors_title", "Please check {n} field(s)", "请检查 {n} 处填写"),
    ("form.save", "Save", "保存"),
    ("gender.female", "Female", "女"),
    ("gender.male", "Male", "男"),
    ("gender.other", "Other", "其他"),
    ("hint.birthday", "03-08, or 1990-03-08 with the year", "如 03-08，知道年份可填 1990-03-08"),
    ("hint.tags", "Separated by commas", "用逗号分隔"),
    ("layout.logout", "Log out", "退出"),
    ("layout.nav", "Console", "控制台"),
    ("layout.skip", "Skip to content", "跳到正文"),
    ("login.failed", "Email or password is wrong, or the account is not active.", "邮箱或密码错误，或账号已停用。"),
    ("login.invited", "Invited by your salon? Open the link in your invitation email to set your password.", "收到门店邀请？请打开邀请邮件中的链接设置密码。"),
    ("login.lede", "The salon's client care: today's visits, clients, complaints and care messages.", "门店客户关怀：今日到店、客户档案、投诉与关怀消息。"),
    ("login.new_chain", "New to salon-crm?", "还没有账号？"),
    ("login.signup_link", "Sign up your salon", "注册您的美容院"),
    ("login.submit", "Log in", "登录"),
    ("login.title", "Log in", "登录"),
    ("login.too_many", "Too many attempts. Wait a minute and try again.", "尝试次数过多，请一分钟后再试。"),
    ("message.kind.birthday", "Birthday greeting", "生日祝福"),
    ("message.kind.complaint_alert", "Complaint alert", "投诉提醒"),
    ("message.kind.escalation", "Escalation", "投诉升级"),
    ("message.kind.survey", "Satisfaction survey", "满意度回访"),
    ("message.kind.wake_up", "Wake-up message", "唤醒关怀"),
    ("message.reason.day_passed", "not sent: the day had passed", "未发送：已过当天"),
    ("message.reason.erased", "not sent: data erased", "未发送：客户信息已删除"),
    ("message.reason.frequency_cap", "not sent: one marketing message a week", "未发送：每周最多一条营销信息"),
    ("message.reason.no_consent", "not sent: no consent", "未发送：客户未同意"),
    ("message.reason.no_contact", "not sent: no phone or email", "未发送：无联系方式"),
    ("message.reason.opted_out", "not sent: unsubscribed", "未发送：客户已退订"),
    ("message.reason.quiet_hours", "held for quiet hours", "免打扰时段顺延"),
    ("message.status.cancelled", "cancelled", "已取消"),
    ("message.status.deferred", "waiting", "等待发送"),
    ("message.status.failed", "failed", "发送失败"),
    ("message.status.pending", "waiting", "等待发送"),
    ("message.status.sending", "sending", "发送中"),
    ("message.status.sent", "sent", "已发送"),
    ("message.status.suppressed", "not sent", "未发送"),
    ("nav.appointments", "Appointments", "预约"),
    ("nav.audit", "Audit log", "审计日志"),
    ("nav.care_report", "Care report", "关怀报表"),
    ("nav.clients", "Clients", "客户"),
    ("nav.complaints", "Complaints", "投诉处理"),
    ("nav.exports", "Exports", "数据导出"),
    ("nav.imports", "Imports", "数据导入"),
    ("nav.messages", "Messages", "消息"),
    ("nav.record_visit", "Record a visit", "登记消费"),
    ("nav.settings", "Settings", "设置"),
    ("nav.staff", "Staff", "员工"),
    ("nav.stores", "Stores", "门店"),
    ("nav.surveys", "Surveys", "满意度回访"),
    ("nav.today", "Today", "今日"),
    ("option.none", "—", "—"),
    ("option.own_store", "My store", "本店"),
    ("option.whole_chain", "Whole chain (no home store)", "全品牌（不归属门店）"),
    ("payment.alipay", "Alipay", "支付宝"),
    ("payment.card", "Bank card", "银行卡"),
    ("payment.cash", "Cash", "现金"),
    ("payment.other", "Other", "其他"),
    ("payment.stored_value", "Stored value", "储值卡"),
    ("payment.wechat_pay", "WeChat Pay", "微信支付"),
    ("role.beautician", "Beautician", "美容师"),
    ("role.front_desk", "Front desk", "前台"),
    ("role.hq_manager", "HQ manager", "总部经理"),
    ("role.owner", "Owner", "负责人"),
    ("role.store_manager", "Store manager", "店长"),
    ("signup.have_account", "Already have an account?", "已有账号？"),
    ("signup.lede", "Your chain's own space: stores, staff and clients. You can add stores and invite staff next.", "您的品牌专属空间：门店、员工与客户。注册后即可添加门店、邀请员工。"),
    ("signup.submit", "Create my salon", "创建我的美容院"),
    ("signup.title", "Sign up your salon", "注册您的美容院"),
    ("timeline.message", "Message", "消息"),
    ("timeline.visit", "Visit", "到店"),
    ("today.all_stores", "All stores", "全部门店"),
    ("today.birthdays", "Birthdays today", "今日生日"),
    ("today.complaints", "Open complaints", "待处理投诉"),
    ("today.complaints_open", "Open complaints", "待处理投诉"),
    ("today.figures", "Today's figures", "今日数据"),
    ("today.left", "{time} left", "剩余 {time}"),
    ("today.low_scores", "Low scores today", "今日低分评价"),
    ("today.messages_failed", "Messages failed", "发送失败"),
    ("today.no_birthdays", "No birthdays today", "今天没有客户生日"),
    ("today.no_birthdays_text", "Greetings go out by themselves at 10:00 to clients who agreed.", "生日祝福会在 10:00 自动发给已同意的客户。"),
    ("today.no_complaints", "No open complaints", "没有待处理的投诉"),
    ("today.no_complaints_text", "A low survey score opens one here, with its deadline.", "低分评价会在这里生成投诉，并显示处理时限。"),
    ("today.no_low_scores", "No low scores today", "今天没有低分评价"),
    ("today.no_low_scores_text", "Answers below 4.5 show here as they come in.", "低于 4.5 分的评价会即时显示在这里。"),
    ("today.overdue", "overdue by {time}", "已超时 {time}"),
    ("today.quick_search", "Find a client: name, zsf, phone or last 4 digits", "查找客户：姓名、拼音首字母、手机号或后四位"),
    ("today.revenue", "Revenue", "营业额"),
    ("today.show", "Show", "查看"),
    ("today.store", "Store", "门店"),
    ("today.title", "Today", "今日"),
    ("today.visits", "Visits", "到店"),
    ("today.wake_ups", "Wake-ups due this week", "本周待唤醒"),
    ("visit.amount", "Amount (¥)", "金额（元）"),
    ("visit.description", "Description", "项目说明"),
    ("visit.for", "For", "客户"),
    ("visit.free_line", "Free line (describe it)", "自填项目"),
    ("visit.line_error", "Line {n}: {message}", "第 {n} 项：{message}"),
    ("visit.lines", "Services", "消费项目"),
    ("visit.lines_hint", "Pick from the catalog (its price is used unless you type another), or describe a free line with its amount. Empty rows are ignored.", "从服务目录选择（默认使用目录价格，可改金额），或自填项目说明与金额。空行会被忽略。"),
    ("visit.no_staff", "Not recorded", "不指定"),
    ("visit.service", "Service", "服务项目"),
    ("visit.submit", "Record visit", "确认登记"),
    ("visit.title", "Record a visit", "登记消费"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn the_catalog_is_sorted_and_complete() {
        for pair in CATALOG.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} must come after {}", pair[0].0, pair[1].0);
        }
        for (key, en, zh) in CATALOG {
            // err.* are Chinese renderings of the model's English sentences.
            assert!(key.starts_with("err.") || !en.is_empty(), "{key} lacks English");
            assert!(!zh.is_empty(), "{key} lacks Chinese");
        }
        assert_eq!(text("nav.today", Lang::ZhCn), Some("今日"));
        assert!(is_flash("flash.visit_recorded"));
        assert!(!is_flash("nav.today"));
        assert!(!is_flash("flash.<script>"));
    }

    #[test]
    fn the_browser_language_decides_without_a_choice() {
        let lang = |value: &str| {
            from_accept_language(
                &TestRequest::default()
                    .insert_header(("accept-language", value))
                    .to_http_request(),
            )
        };
        assert_eq!(lang("zh-CN,zh;q=0.9,en;q=0.8"), Lang::ZhCn);
        assert_eq!(lang("en-GB,en;q=0.9,zh-CN;q=0.8"), Lang::En);
        assert_eq!(lang("fr-FR,zh-TW;q=0.5"), Lang::ZhCn);
        assert_eq!(lang("de"), Lang::En);
        assert_eq!(lang("en;q=0.2,zh;q=0.8"), Lang::ZhCn);
        assert_eq!(lang("zh;q=0"), Lang::En);
        assert_eq!(field_error("required", "is required", Lang::ZhCn), "必填");
        assert_eq!(field_error("odd", "is odd", Lang::ZhCn), "is odd");
        assert_eq!(field_error("required", "is required", Lang::En), "is required");
    }
}
