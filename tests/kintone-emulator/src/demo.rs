//! The demo data set used by the dev stack and the README.

use serde_json::json;

use crate::{App, Emulator, Field, FieldType, Permission};

pub(crate) const SEMINAR_APP: u64 = 12;
pub(crate) const DEALS_APP: u64 = 34;
pub(crate) const CAREERS_APP: u64 = 56;

/// A one-page PDF: each published deal's quotation, for the lookup page's download buttons.
const QUOTATION_PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n\
3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >> endobj\n\
trailer << /Root 1 0 R >>\n%%EOF\n";

const PARTNERS: [(&str, &str); 5] = [
    ("P-001", "山田商事"),
    ("P-002", "佐藤工業"),
    ("P-003", "鈴木物産"),
    ("P-004", "高橋電機"),
    ("P-005", "田中建設"),
];

const SUBJECTS: [&str; 6] = [
    "業務システム導入",
    "保守契約更新",
    "クラウド移行支援",
    "ネットワーク機器更新",
    "研修サービス",
    "データ分析基盤構築",
];

const STATUSES: [&str; 3] = ["商談中", "受注", "失注"];

/// Number of seeded deals; enough for paging tests (more than 50).
const DEALS: u64 = 55;

pub(crate) fn build() -> Emulator {
    use FieldType::*;
    let emu = Emulator::new();

    emu.add_app(App {
        id: SEMINAR_APP,
        guest_space: None,
        fields: vec![
            Field::new("氏名", SingleLineText)
                .label("お名前")
                .required()
                .max_length(100),
            Field::new("メールアドレス", SingleLineText)
                .label("メールアドレス")
                .required(),
            Field::new("電話番号", SingleLineText).label("電話番号"),
            Field::new("参加セッション", RadioButton)
                .label("参加セッション")
                .options(&["午前の部", "午後の部"]),
            Field::new("参加人数", Number)
                .label("参加人数")
                .range(Some(1.0), Some(10.0)),
            Field::new("希望日", Date).label("希望日"),
            Field::new("質問", MultiLineText).label("ご質問"),
            Field::new("同意", CheckBox)
                .label("個人情報の取り扱いへの同意")
                .options(&["同意する"]),
            Field::new("受付番号", SingleLineText)
                .label("受付番号")
                .unique(),
            Field::new("送信ID", SingleLineText)
                .label("送信ID")
                .unique(),
            Field::new("流入元", SingleLineText).label("流入元"),
        ],
    });
    emu.add_token(
        "demoSeminarAddToken000000000000000000000",
        SEMINAR_APP,
        &[Permission::Add],
    );
    emu.add_token(
        "demoSeminarViewToken00000000000000000000",
        SEMINAR_APP,
        &[Permission::View],
    );

    emu.add_app(App {
        id: DEALS_APP,
        guest_space: None,
        fields: vec![
            Field::new("担当ID", SingleLineText).label("取引先ID"),
            Field::new("担当名", SingleLineText).label("取引先名"),
            Field::new("取引ID", SingleLineText)
                .label("取引番号")
                .unique(),
            Field::new("件名", SingleLineText).label("件名"),
            Field::new("金額", Number).label("金額（円）"),
            Field::new("ステータス", DropDown)
                .label("商談状況")
                .options(&STATUSES),
            Field::new("公開", CheckBox)
                .label("公開")
                .options(&["公開する"]),
            Field::new("公開期限", Date).label("公開期限"),
            Field::new("見積書", File).label("見積書"),
        ],
    });
    emu.add_token(
        "demoDealsViewToken0000000000000000000000",
        DEALS_APP,
        &[Permission::View],
    );
    for i in 0..DEALS {
        let (partner_id, partner_name) = PARTNERS[(i % 5) as usize];
        // A few deals are unpublished, a few have expired; the rest are visible.
        let public: &[&str] = if i % 11 == 3 { &[] } else { &["公開する"] };
        let until = if i % 9 == 4 {
            "2020-01-01"
        } else {
            "2099-12-31"
        };
        let deal = format!("D-{}", 1001 + i);
        let quotation = format!("見積書_{deal}.pdf");
        let file_key = emu.insert_file(DEALS_APP, &quotation, "application/pdf", QUOTATION_PDF);
        emu.insert_record(
            DEALS_APP,
            json!({
                "担当ID": { "value": partner_id },
                "担当名": { "value": partner_name },
                "取引ID": { "value": deal },
                "件名": { "value": format!("{}（{}）", SUBJECTS[(i % 6) as usize], partner_name) },
                "金額": { "value": ((i % 7 + 1) * 150_000 + i * 1_000).to_string() },
                "ステータス": { "value": STATUSES[(i % 3) as usize] },
                "公開": { "value": public },
                "公開期限": { "value": until },
                "見積書": { "value": [{
                    "fileKey": file_key, "name": quotation, "contentType": "application/pdf",
                    "size": QUOTATION_PDF.len().to_string(),
                }] },
            }),
        );
    }

    // A job application with a CV: the form page's file input.
    emu.add_app(App {
        id: CAREERS_APP,
        guest_space: None,
        fields: vec![
            Field::new("氏名", SingleLineText)
                .label("お名前")
                .required()
                .max_length(50),
            Field::new("メールアドレス", SingleLineText)
                .label("メールアドレス")
                .required(),
            Field::new("希望職種", DropDown)
                .label("希望職種")
                .options(&["エンジニア", "営業", "カスタマーサポート"]),
            Field::new("履歴書", File).label("履歴書").required(),
            Field::new("応募番号", SingleLineText)
                .label("応募番号")
                .unique(),
            Field::new("応募ID", SingleLineText)
                .label("応募ID")
                .unique(),
        ],
    });
    emu.add_token(
        "demoCareersAddToken000000000000000000000",
        CAREERS_APP,
        &[Permission::Add],
    );
    emu.add_token(
        "demoCareersViewToken00000000000000000000",
        CAREERS_APP,
        &[Permission::View],
    );
    emu
}
