using System.Text.RegularExpressions;
using Google.Protobuf.WellKnownTypes;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Node.Hotline;

/// <summary>
/// The rules of a hotline call record, the same at the hub and at every spoke: what a counsellor may enter, how a record is
/// made and amended, and what of it may leave the centre that took the call.
/// </summary>
public static partial class HotlineCalls
{
    /// <summary>A call may be entered this long after it began, not earlier (a clock a little fast is not the future).</summary>
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    /// <summary>Checks what a counsellor entered. <paramref name="facilityCodes"/> are the directory's (suggestions must be in it).</summary>
    public static void ValidateEntry(FieldValidator v, string path, HotlineCallEntry? entry, DateTimeOffset now, IReadOnlySet<string> facilityCodes)
    {
        if (entry is null)
        {
            v.Add(path, "is required");
            return;
        }
        ValidateCommon(v, path, entry, now);
        if (entry.CancerCategory == OrganSystem.Unspecified && string.IsNullOrWhiteSpace(entry.CancerDescription))
        {
            v.Add($"{path}.cancer_description", "is required when cancer_category is unspecified: say what the caller said about the cancer");
        }
        v.Text($"{path}.cancer_description", entry.CancerDescription, ContractLimits.HotlineCancerDescription, required: false);
        v.Text($"{path}.notes", entry.Notes, ContractLimits.HotlineNotes, required: false);
        for (var i = 0; i < entry.SuggestedFacilityCodes.Count; i++)
        {
            if (!facilityCodes.Contains(entry.SuggestedFacilityCodes[i]))
            {
                v.Add($"{path}.suggested_facility_codes[{i}]", $"'{entry.SuggestedFacilityCodes[i]}' is not a facility of the directory");
            }
        }
    }

    /// <summary>
    /// Checks a call as a spoke delivers it to the hub: what a counsellor enters, plus what the spoke set, and that nothing
    /// that stays at the centre (notes, the cancer as described) came with it.
    /// </summary>
    public static void ValidateDelivered(FieldValidator v, string path, HotlineCall? call, DateTimeOffset now)
    {
        if (call is null)
        {
            v.Add(path, "is required");
            return;
        }
        v.Uuid($"{path}.call_id", call.CallId);
        v.Text($"{path}.centre_facility_code", call.CentreFacilityCode, 64);
        v.Text($"{path}.recorded_by", call.RecordedBy, 200);
        if (call.RecordedAt is null)
        {
            v.Add($"{path}.recorded_at", "is required");
        }
        if (call.Revision < 1)
        {
            v.Add($"{path}.revision", $"must be 1 or more; got {call.Revision}");
        }
        ValidateCommon(v, path, EntryOf(call), now);
        if (call.Notes.Length > 0)
        {
            v.Add($"{path}.notes", "must be empty: a call's notes stay at the centre that took it");
        }
        if (call.CancerDescription.Length > 0)
        {
            v.Add($"{path}.cancer_description", "must be empty: the cancer as the caller described it stays at the centre that took the call");
        }
    }

    private static void ValidateCommon(FieldValidator v, string path, HotlineCallEntry entry, DateTimeOffset now)
    {
        if (entry.StartedAt is null)
        {
            v.Add($"{path}.started_at", "is required");
        }
        else if (entry.StartedAt.ToDateTimeOffset() > now + ClockSkew)
        {
            v.Add($"{path}.started_at", $"is in the future ({JapanTime.Format(entry.StartedAt.ToDateTimeOffset())}); give when the call began");
        }
        v.Range($"{path}.duration_minutes", entry.DurationMinutes, 1, ContractLimits.HotlineMinutes);
        v.Enum($"{path}.channel", entry.Channel);
        v.Enum($"{path}.caller_relation", entry.CallerRelation);
        if (entry.PatientPrefecture.Length > 0 && ReferenceLists.RegionOf(entry.PatientPrefecture) is null)
        {
            v.Add($"{path}.patient_prefecture", $"'{entry.PatientPrefecture}' is not one of the 47 prefectures (e.g. 愛知県); leave it empty when the caller did not say");
        }
        v.Enum($"{path}.patient_age_band", entry.PatientAgeBand);
        v.OptionalEnum($"{path}.cancer_category", entry.CancerCategory);
        DistinctValues(v, $"{path}.topics", entry.Topics, ContractLimits.HotlineTopicCount);
        DistinctValues(v, $"{path}.outcomes", entry.Outcomes, ContractLimits.HotlineOutcomeCount);

        var suggested = entry.Outcomes.Contains(HotlineOutcome.FacilitySuggested);
        if (suggested && entry.SuggestedFacilityCodes.Count == 0)
        {
            v.Add($"{path}.suggested_facility_codes", "is required with the outcome FACILITY_SUGGESTED: name the facilities suggested");
        }
        else if (!suggested && entry.SuggestedFacilityCodes.Count > 0)
        {
            v.Add($"{path}.suggested_facility_codes", "must be empty unless the outcomes include FACILITY_SUGGESTED");
        }
        if (entry.SuggestedFacilityCodes.Count > ContractLimits.HotlineSuggestedFacilities)
        {
            v.Add($"{path}.suggested_facility_codes", $"has {entry.SuggestedFacilityCodes.Count} entries; the limit is {ContractLimits.HotlineSuggestedFacilities}");
        }
        if (entry.SuggestedFacilityCodes.Distinct(StringComparer.Ordinal).Count() != entry.SuggestedFacilityCodes.Count)
        {
            v.Add($"{path}.suggested_facility_codes", "names a facility twice");
        }
        if (entry.Outcomes.Contains(HotlineOutcome.ReferralMade))
        {
            v.Uuid($"{path}.referral_id", entry.ReferralId);
        }
        else if (entry.ReferralId.Length > 0)
        {
            v.Add($"{path}.referral_id", "must be empty unless the outcomes include REFERRAL_MADE");
        }
    }

    private static void DistinctValues<TEnum>(FieldValidator v, string field, IReadOnlyList<TEnum> values, int max) where TEnum : struct, System.Enum
    {
        if (values.Count == 0)
        {
            v.Add(field, "is required: give at least one");
            return;
        }
        if (values.Count > max)
        {
            v.Add(field, $"has {values.Count} entries; the limit is {max}");
        }
        for (var i = 0; i < values.Count; i++)
        {
            v.Enum($"{field}[{i}]", values[i]);
        }
        if (values.Distinct().Count() != values.Count)
        {
            v.Add(field, "names a value twice");
        }
    }

    /// <summary>Checks whom to call back: required with the outcome CALL_BACK.</summary>
    public static void ValidateContact(FieldValidator v, string path, CallbackContact? contact, HotlineCallEntry? entry)
    {
        var callBack = entry?.Outcomes.Contains(HotlineOutcome.CallBack) == true;
        if (contact is null)
        {
            if (callBack)
            {
                v.Add(path, "is required with the outcome CALL_BACK: whom to call back, and the number");
            }
            return;
        }
        v.Text($"{path}.name", contact.Name, ContractLimits.CallbackName, required: false);
        if (v.Text($"{path}.phone", contact.Phone, ContractLimits.CallbackPhone) && !PhoneNumber().IsMatch(contact.Phone))
        {
            v.Add($"{path}.phone", "may hold only digits, spaces, hyphens, parentheses and a leading +");
        }
        v.Text($"{path}.when_to_call", contact.WhenToCall, ContractLimits.CallbackWhen, required: false);
    }

    public static HotlineCall Create(string callId, string centreFacilityCode, string recordedBy, HotlineCallEntry entry, DateTimeOffset now)
    {
        var call = Apply(new HotlineCall
        {
            CallId = callId,
            CentreFacilityCode = centreFacilityCode,
            RecordedBy = recordedBy,
            RecordedAt = Timestamp.FromDateTimeOffset(now),
            Revision = 1,
        }, entry);
        call.UpdatedAt = call.RecordedAt;
        return call;
    }

    public static HotlineCall Amend(HotlineCall current, HotlineCallEntry entry, DateTimeOffset now)
    {
        var call = Apply(new HotlineCall
        {
            CallId = current.CallId,
            CentreFacilityCode = current.CentreFacilityCode,
            RecordedBy = current.RecordedBy,
            RecordedAt = current.RecordedAt,
            Revision = current.Revision + 1,
        }, entry);
        call.UpdatedAt = Timestamp.FromDateTimeOffset(now);
        return call;
    }

    /// <summary>The call as it may leave the centre: without its notes and the cancer as the caller described it.</summary>
    public static HotlineCall ForHub(HotlineCall call)
    {
        var shared = call.Clone();
        shared.Notes = "";
        shared.CancerDescription = "";
        return shared;
    }

    public static HotlineCallEntry EntryOf(HotlineCall call) => new()
    {
        StartedAt = call.StartedAt,
        DurationMinutes = call.DurationMinutes,
        Channel = call.Channel,
        CallerRelation = call.CallerRelation,
        PatientPrefecture = call.PatientPrefecture,
        PatientAgeBand = call.PatientAgeBand,
        CancerCategory = call.CancerCategory,
        CancerDescription = call.CancerDescription,
        Topics = { call.Topics },
        Notes = call.Notes,
        Outcomes = { call.Outcomes },
        SuggestedFacilityCodes = { call.SuggestedFacilityCodes },
        ReferralId = call.ReferralId,
    };

    private static HotlineCall Apply(HotlineCall call, HotlineCallEntry entry)
    {
        call.StartedAt = entry.StartedAt;
        call.DurationMinutes = entry.DurationMinutes;
        call.Channel = entry.Channel;
        call.CallerRelation = entry.CallerRelation;
        call.PatientPrefecture = entry.PatientPrefecture;
        call.PatientAgeBand = entry.PatientAgeBand;
        call.CancerCategory = entry.CancerCategory;
        call.CancerDescription = entry.CancerDescription;
        call.Topics.Add(entry.Topics);
        call.Notes = entry.Notes;
        call.Outcomes.Add(entry.Outcomes);
        call.SuggestedFacilityCodes.Add(entry.SuggestedFacilityCodes);
        call.ReferralId = entry.ReferralId;
        return call;
    }

    /// <summary>The words of a search: split at spaces (full-width ones too), each to be found in the notes or the description.</summary>
    public static IReadOnlyList<string> SearchWords(string text) =>
        text.Split([' ', '\u3000', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Checks a search's fields; returns the page size.</summary>
    public static int ValidateSearch(FieldValidator v, string path, SearchHotlineCallsRequest? query)
    {
        var prefix = path.Length == 0 ? "" : path + ".";
        query ??= new SearchHotlineCallsRequest();
        v.Text($"{prefix}text", query.Text, ContractLimits.HotlineSearchText, required: false);
        // A search's period may reach into the future (calls "until the end of the month").
        if (query.FromDate.Length > 0)
        {
            v.Date($"{prefix}from_date", query.FromDate, DateOnly.MaxValue);
        }
        if (query.ToDate.Length > 0)
        {
            v.Date($"{prefix}to_date", query.ToDate, DateOnly.MaxValue);
        }
        if (query.FromDate.Length > 0 && query.ToDate.Length > 0 && string.CompareOrdinal(query.FromDate, query.ToDate) > 0)
        {
            v.Add($"{prefix}to_date", $"is before from_date ({query.FromDate})");
        }
        v.OptionalEnum($"{prefix}topic", query.Topic);
        v.Text($"{prefix}page_token", query.PageToken, ContractLimits.PageToken, required: false);
        return v.PageSize($"{prefix}page_size", query.PageSize, 50, ContractLimits.HotlinePageSize);
    }

    /// <summary>The instant a search's date bound begins (from) or ends (to, exclusive), midnight in Japan time, as stored text.</summary>
    public static string? DateBound(string date, bool end)
    {
        if (date.Length == 0)
        {
            return null;
        }
        var day = DateOnly.ParseExact(date, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        if (end)
        {
            day = day.AddDays(1);
        }
        var midnight = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.FromHours(9));
        return Storage.SqlCommands.ToDbText(midnight);
    }

    [GeneratedRegex(@"^\+?[0-9 ()\-]+$")]
    private static partial Regex PhoneNumber();
}
