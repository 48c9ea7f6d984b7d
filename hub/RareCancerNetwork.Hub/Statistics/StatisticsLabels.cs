using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Statistics;

/// <summary>Headings of the national tables in Japanese and English, keyed by stable codes (enum value names, months, names).</summary>
public static class StatisticsLabels
{
    public const string TotalCode = "total";

    /// <summary>A hotline caller who did not say (the patient's prefecture, and so its region).</summary>
    public const string NotToldCode = "not_told";

    private static readonly Dictionary<string, (string Ja, string En)> Labels = new(StringComparer.Ordinal)
    {
        [TotalCode] = ("計", "Total"),
        // Regions as the directory names them.
        ["Hokkaido"] = ("北海道", "Hokkaido"),
        ["Tohoku"] = ("東北", "Tohoku"),
        ["Kanto"] = ("関東", "Kanto"),
        ["Chubu"] = ("中部", "Chubu"),
        ["Kinki"] = ("近畿", "Kinki"),
        ["Chugoku"] = ("中国", "Chugoku"),
        ["Shikoku"] = ("四国", "Shikoku"),
        ["Kyushu-Okinawa"] = ("九州・沖縄", "Kyushu-Okinawa"),
        [nameof(OrganSystem.SoftTissue)] = ("軟部", "Soft tissue"),
        [nameof(OrganSystem.Bone)] = ("骨", "Bone"),
        [nameof(OrganSystem.Gynecologic)] = ("婦人科", "Gynecologic"),
        [nameof(OrganSystem.HeadAndNeck)] = ("頭頸部", "Head and neck"),
        [nameof(OrganSystem.Thoracic)] = ("胸部", "Thoracic"),
        [nameof(OrganSystem.Digestive)] = ("消化器", "Digestive"),
        [nameof(OrganSystem.Genitourinary)] = ("泌尿生殖器", "Genitourinary"),
        [nameof(OrganSystem.CentralNervousSystem)] = ("中枢神経系", "Central nervous system"),
        [nameof(OrganSystem.Skin)] = ("皮膚", "Skin"),
        [nameof(OrganSystem.Hematolymphoid)] = ("血液・リンパ", "Hematolymphoid"),
        [nameof(OrganSystem.Endocrine)] = ("内分泌", "Endocrine"),
        [nameof(OrganSystem.Eye)] = ("眼", "Eye"),
        [nameof(OrganSystem.Breast)] = ("乳腺", "Breast"),
        [nameof(OrganSystem.Pediatric)] = ("小児", "Pediatric"),
        ["designation:" + nameof(FacilityDesignation.Unspecified)] = ("不明・指定外", "Unknown or not designated"),
        ["designation:" + nameof(FacilityDesignation.GenomicCore)] = ("がんゲノム医療中核拠点病院", "Genomic core hospital"),
        ["designation:" + nameof(FacilityDesignation.GenomicHub)] = ("がんゲノム医療拠点病院", "Genomic hub hospital"),
        ["designation:" + nameof(FacilityDesignation.GenomicCooperative)] = ("がんゲノム医療連携病院", "Genomic cooperative hospital"),
        ["designation:" + nameof(FacilityDesignation.RareCancerCoreCenter)] = ("希少がん中央機関・拠点", "Rare-cancer core center"),
        ["kind:facility"] = ("医療機関への紹介", "To a facility"),
        ["kind:trial_arm"] = ("治験・臨床試験への紹介", "To a trial"),
        ["outcome:" + nameof(ReferralOutcome.Unspecified)] = ("結果未登録", "No outcome yet"),
        ["outcome:" + nameof(ReferralOutcome.EnrolledInTrial)] = ("試験登録", "Enrolled in the trial"),
        ["outcome:" + nameof(ReferralOutcome.Treated)] = ("治療実施", "Treated"),
        ["outcome:" + nameof(ReferralOutcome.Consulted)] = ("受診のみ", "Consulted"),
        ["outcome:" + nameof(ReferralOutcome.NotEnrolled)] = ("試験登録せず", "Not enrolled"),
        ["outcome:" + nameof(ReferralOutcome.PatientDeclined)] = ("患者辞退", "Patient declined"),
        ["outcome:" + nameof(ReferralOutcome.Other)] = ("その他", "Other"),
        [NotToldCode] = ("不明（聞き取れず）", "Not told"),
        [nameof(OrganSystem.Unspecified)] = ("不明・その他", "Unknown or other"),
        ["topic:" + nameof(HotlineTopic.WishToBeSeen)] = ("受診希望", "Wish to be seen"),
        ["topic:" + nameof(HotlineTopic.SecondOpinion)] = ("セカンドオピニオン", "Second opinion"),
        ["topic:" + nameof(HotlineTopic.TreatmentOptions)] = ("治療法", "Treatment options"),
        ["topic:" + nameof(HotlineTopic.ClinicalTrials)] = ("臨床試験・治験", "Clinical trials"),
        ["topic:" + nameof(HotlineTopic.Diagnosis)] = ("診断", "Diagnosis"),
        ["topic:" + nameof(HotlineTopic.LivingWithTheDisease)] = ("療養生活", "Living with the disease"),
        ["topic:" + nameof(HotlineTopic.Costs)] = ("費用", "Costs"),
        ["topic:" + nameof(HotlineTopic.Other)] = ("その他", "Other"),
        ["alteration:" + nameof(AlterationType.Mutation)] = ("変異", "mutation"),
        ["alteration:" + nameof(AlterationType.Amplification)] = ("増幅", "amplification"),
        ["alteration:" + nameof(AlterationType.Deletion)] = ("欠失", "deletion"),
        ["alteration:" + nameof(AlterationType.Fusion)] = ("融合", "fusion"),
        ["alteration:" + nameof(AlterationType.TmbHigh)] = ("TMB-High", "TMB-high"),
        ["alteration:" + nameof(AlterationType.MsiHigh)] = ("MSI-High", "MSI-high"),
        ["response:" + nameof(RecistResponse.CompleteResponse)] = ("完全奏効 (CR)", "Complete response (CR)"),
        ["response:" + nameof(RecistResponse.PartialResponse)] = ("部分奏効 (PR)", "Partial response (PR)"),
        ["response:" + nameof(RecistResponse.StableDisease)] = ("安定 (SD)", "Stable disease (SD)"),
        ["response:" + nameof(RecistResponse.ProgressiveDisease)] = ("進行 (PD)", "Progressive disease (PD)"),
        ["response:" + nameof(RecistResponse.NotEvaluable)] = ("評価不能 (NE)", "Not evaluable (NE)"),
    };

    public static Category Total => Of(TotalCode);

    /// <summary>A heading with its labels; a code without labels (a month, a region, a prefecture, a gene) is its own label.</summary>
    public static Category Of(string code) => Labels.TryGetValue(code, out var label)
        ? new Category { Code = code, LabelJa = label.Ja, LabelEn = label.En }
        : new Category { Code = code, LabelJa = code, LabelEn = code };

    public static Category Of(string code, string ja, string en) => new() { Code = code, LabelJa = ja, LabelEn = en };

    public static string OrganCode(OrganSystem organ) => organ.ToString();

    public static string DesignationCode(FacilityDesignation designation) => "designation:" + designation;

    public static string OutcomeCode(ReferralOutcome outcome) => "outcome:" + outcome;

    public static string AlterationCode(AlterationType type) => "alteration:" + type;

    public static string TopicCode(HotlineTopic topic) => "topic:" + topic;

    public static string ResponseCode(RecistResponse response) => "response:" + response;

    /// <summary>A month in Japanese, e.g. 2026年4月.</summary>
    public static Category Month(string month) =>
        new() { Code = month, LabelJa = $"{month[..4]}年{int.Parse(month[5..], System.Globalization.CultureInfo.InvariantCulture)}月", LabelEn = month };
}
