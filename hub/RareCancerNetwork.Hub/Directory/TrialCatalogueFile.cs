using System.Text.Json.Nodes;
using NJsonSchema;
using NJsonSchema.Validation;
using RareCancerNetwork.Node.CommandLine;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Matching;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Directory;

/// <summary>
/// Reads a trial catalogue file (docs/trials.md; its JSON Schema is docs/trial-catalogue.schema.json).
/// The file is checked whole against the schema, then for what a schema cannot say (approved gene
/// symbols, ranges in order, unique ids); any error refuses the whole file, and every error is named
/// by its path in the file.
/// </summary>
public static class TrialCatalogueFile
{
    private static readonly Lazy<Task<JsonSchema>> Schema = new(async () =>
    {
        await using var stream = typeof(TrialCatalogueFile).Assembly.GetManifestResourceStream("trial-catalogue.schema.json")!;
        using var reader = new StreamReader(stream);
        return await JsonSchema.FromJsonAsync(await reader.ReadToEndAsync());
    });

    /// <summary>The trials of the file, or <see cref="InvalidFieldsException"/> with every error.</summary>
    public static async Task<IReadOnlyList<Trial>> ParseAsync(string json)
    {
        var schema = await Schema.Value;
        ICollection<ValidationError> errors;
        try
        {
            errors = schema.Validate(json);
        }
        catch (Newtonsoft.Json.JsonReaderException exception)
        {
            throw new InvalidFieldsException([new FieldViolation("(file)", $"is not valid JSON: {exception.Message}")]);
        }
        if (errors.Count > 0)
        {
            throw new InvalidFieldsException([.. errors.SelectMany(Flatten).Distinct()]);
        }
        var root = JsonNode.Parse(json)!;
        var trials = root["trials"]!.AsArray().Select(t => ReadTrial(t!)).ToList();
        var v = new FieldValidator();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < trials.Count; i++)
        {
            if (!ids.Add(trials[i].TrialId))
            {
                v.Add($"trials[{i}].trial_id", $"'{trials[i].TrialId}' appears more than once in the file");
            }
            Check(v, $"trials[{i}]", trials[i]);
        }
        v.ThrowIfInvalid();
        return trials;
    }

    /// <summary>A schema error as a path and a sentence; a failed choice between shapes says which shapes were allowed.</summary>
    private static IEnumerable<FieldViolation> Flatten(ValidationError error)
    {
        if (error is ChildSchemaValidationError child && child.Errors.Count > 0)
        {
            // A failed choice between shapes: the shape with the fewest errors is the one the author meant.
            var groups = error.Kind is ValidationErrorKind.NotOneOf or ValidationErrorKind.NotAnyOf
                ? [child.Errors.Values.OrderBy(e => e.Count).First()]
                : child.Errors.Values;
            var nested = groups.SelectMany(g => g).SelectMany(Flatten).ToList();
            if (nested.Count > 0)
            {
                foreach (var violation in nested)
                {
                    yield return violation;
                }
                yield break;
            }
        }
        var path = error.Path is { Length: > 2 } p && p.StartsWith("#/", StringComparison.Ordinal) ? p[2..] : "(file)";
        var description = error.Kind switch
        {
            ValidationErrorKind.NoAdditionalPropertiesAllowed => $"'{error.Property}' is not a field of this object",
            ValidationErrorKind.PropertyRequired => $"'{error.Property}' is required",
            ValidationErrorKind.NotOneOf => "matches none of the allowed shapes (see docs/trials.md)",
            ValidationErrorKind.NotInEnumeration => "is not one of the allowed values (see docs/trials.md)",
            _ => Words(error.Kind.ToString()),
        };
        if (error.Kind == ValidationErrorKind.PropertyRequired)
        {
            path = path.EndsWith("." + error.Property, StringComparison.Ordinal) ? path[..^(error.Property!.Length + 1)] : path;
            path = path == error.Property ? "(file)" : path;
        }
        yield return new FieldViolation(path, description);
    }

    private static string Words(string kind) =>
        string.Concat(kind.Select((c, i) => i > 0 && char.IsUpper(c) ? " " + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    private static Trial ReadTrial(JsonNode node)
    {
        var trial = new Trial
        {
            TrialId = node["trial_id"]!.GetValue<string>(),
            Title = node["title"]!.GetValue<string>(),
            Phase = node["phase"]!.GetValue<string>() switch
            {
                "1" => TrialPhase._1,
                "1b" => TrialPhase._1B,
                "1/2" => TrialPhase._12,
                "1b/2" => TrialPhase._1B2,
                "2" => TrialPhase._2,
                "2/3" => TrialPhase._23,
                "3" => TrialPhase._3,
                _ => TrialPhase._4,
            },
            Status = Status(node["status"]!),
            SiteFacilityCodes = { node["sites"]!.AsArray().Select(s => s!.GetValue<string>()) },
            Eligibility = ReadEligibility(node["eligibility"]),
        };
        foreach (var arm in node["arms"]!.AsArray())
        {
            trial.Arms.Add(new TrialArm
            {
                ArmId = arm!["arm_id"]!.GetValue<string>(),
                Title = arm["title"]!.GetValue<string>(),
                Status = Status(arm["status"]!),
                Eligibility = ReadEligibility(arm["eligibility"]),
            });
        }
        return trial;
    }

    private static RecruitmentStatus Status(JsonNode node) => node.GetValue<string>() == "recruiting" ? RecruitmentStatus.Recruiting : RecruitmentStatus.Closed;

    private static Eligibility? ReadEligibility(JsonNode? node)
    {
        if (node is null)
        {
            return null;
        }
        var eligibility = new Eligibility();
        if (node["biomarkers"] is { } biomarkers)
        {
            eligibility.Biomarkers = ReadCriterion(biomarkers);
        }
        foreach (var type in node["tumour_types"]?.AsArray() ?? [])
        {
            eligibility.TumourTypes.Add(type!["morphology"] is { } code ? new TumourType { MorphologyCode = code.GetValue<string>() }
                : type["morphology_range"] is { } range ? new TumourType { MorphologyRange = new MorphologyRange { First = range[0]!.GetValue<string>(), Last = range[1]!.GetValue<string>() } }
                : new TumourType { Category = ProtoEnumNames.Parse<OrganSystem>(type["category"]!.GetValue<string>())!.Value });
        }
        // Optional bounds: an absent one stays unset (no restriction), which is not the same as 0.
        foreach (var (name, set) in new (string, Action<int>)[]
        {
            ("minimum_age", value => eligibility.MinimumAge = value), ("maximum_age", value => eligibility.MaximumAge = value),
            ("maximum_ecog", value => eligibility.MaximumEcog = value),
            ("minimum_prior_lines", value => eligibility.MinimumPriorLines = value), ("maximum_prior_lines", value => eligibility.MaximumPriorLines = value),
        })
        {
            if (node[name] is { } value)
            {
                set(value.GetValue<int>());
            }
        }
        return eligibility;
    }

    private static BiomarkerCriterion ReadCriterion(JsonNode node)
    {
        if (node["all_of"] is { } all)
        {
            return new BiomarkerCriterion { AllOf = new BiomarkerCriteria { Criteria = { all.AsArray().Select(c => ReadCriterion(c!)) } } };
        }
        if (node["any_of"] is { } any)
        {
            return new BiomarkerCriterion { AnyOf = new BiomarkerCriteria { Criteria = { any.AsArray().Select(c => ReadCriterion(c!)) } } };
        }
        if (node["not"] is { } not)
        {
            return new BiomarkerCriterion { NoneOf = ReadCriterion(not) };
        }
        return new BiomarkerCriterion
        {
            Requirement = new BiomarkerRequirement
            {
                Gene = node["gene"]?.GetValue<string>() ?? "",
                AlterationType = ProtoEnumNames.Parse<AlterationType>(node["alteration"]!.GetValue<string>())!.Value,
                Detail = node["detail"]?.GetValue<string>() ?? "",
                FusionPartner = node["fusion_partner"]?.GetValue<string>() ?? "",
            },
        };
    }

    private static void Check(FieldValidator v, string path, Trial trial)
    {
        Check(v, $"{path}.eligibility", trial.Eligibility);
        var armIds = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < trial.Arms.Count; i++)
        {
            if (!armIds.Add(trial.Arms[i].ArmId))
            {
                v.Add($"{path}.arms[{i}].arm_id", $"'{trial.Arms[i].ArmId}' is used by another arm of the trial");
            }
            Check(v, $"{path}.arms[{i}].eligibility", trial.Arms[i].Eligibility);
        }
    }

    private static void Check(FieldValidator v, string path, Eligibility? eligibility)
    {
        if (eligibility is null)
        {
            return;
        }
        if (eligibility.Biomarkers is { } biomarkers)
        {
            Check(v, $"{path}.biomarkers", biomarkers);
        }
        for (var i = 0; i < eligibility.TumourTypes.Count; i++)
        {
            if (eligibility.TumourTypes[i].MorphologyRange is { } range)
            {
                var first = MorphologyCodes.Parse(range.First)!.Value;
                var last = MorphologyCodes.Parse(range.Last)!.Value;
                if (first.Behaviour != last.Behaviour)
                {
                    v.Add($"{path}.tumour_types[{i}].morphology_range", $"both ends must have the same behaviour code; got /{first.Behaviour} and /{last.Behaviour}");
                }
                else if (first.Histology > last.Histology)
                {
                    v.Add($"{path}.tumour_types[{i}].morphology_range", $"{range.First} comes after {range.Last}");
                }
            }
        }
        if (eligibility.HasMinimumAge && eligibility.HasMaximumAge && eligibility.MinimumAge > eligibility.MaximumAge)
        {
            v.Add($"{path}.minimum_age", $"{eligibility.MinimumAge} is above maximum_age {eligibility.MaximumAge}");
        }
        if (eligibility.HasMinimumPriorLines && eligibility.HasMaximumPriorLines && eligibility.MinimumPriorLines > eligibility.MaximumPriorLines)
        {
            v.Add($"{path}.minimum_prior_lines", $"{eligibility.MinimumPriorLines} is above maximum_prior_lines {eligibility.MaximumPriorLines}");
        }
    }

    private static void Check(FieldValidator v, string path, BiomarkerCriterion criterion)
    {
        switch (criterion.CriterionCase)
        {
            case BiomarkerCriterion.CriterionOneofCase.AllOf:
                for (var i = 0; i < criterion.AllOf.Criteria.Count; i++)
                {
                    Check(v, $"{path}.all_of[{i}]", criterion.AllOf.Criteria[i]);
                }
                return;
            case BiomarkerCriterion.CriterionOneofCase.AnyOf:
                for (var i = 0; i < criterion.AnyOf.Criteria.Count; i++)
                {
                    Check(v, $"{path}.any_of[{i}]", criterion.AnyOf.Criteria[i]);
                }
                return;
            case BiomarkerCriterion.CriterionOneofCase.NoneOf:
                Check(v, $"{path}.not", criterion.NoneOf);
                return;
        }
        var requirement = criterion.Requirement;
        var signature = requirement.AlterationType is AlterationType.TmbHigh or AlterationType.MsiHigh;
        if (signature && requirement.Gene.Length > 0)
        {
            v.Add($"{path}.gene", "TMB-high and MSI-high are signatures of the whole tumour: leave the gene out");
        }
        else if (!signature)
        {
            Gene(v, $"{path}.gene", requirement.Gene);
        }
        if (requirement.FusionPartner.Length > 0)
        {
            if (requirement.AlterationType != AlterationType.Fusion)
            {
                v.Add($"{path}.fusion_partner", "applies to fusions only");
            }
            else
            {
                Gene(v, $"{path}.fusion_partner", requirement.FusionPartner);
            }
        }
    }

    private static void Gene(FieldValidator v, string path, string symbol)
    {
        if (symbol.Length == 0)
        {
            v.Add(path, "is required");
        }
        else if (ReferenceLists.GeneProblem(symbol) is { } problem)
        {
            v.Add(path, problem);
        }
    }
}
