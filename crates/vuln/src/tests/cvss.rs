use crate::{Cvss, CvssError, CvssVersion};

#[test]
fn v3_base_scores_match_the_published_ones() {
    let cases = [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
        ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 5.5),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
        ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9),
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 8.8),
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.1),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:L/I:L/A:N", 7.2),
        ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6),
        ("CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H", 5.5),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
        ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 8.8),
        // Temporal and environmental metrics do not change the base score.
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C/CR:H/MAV:L", 9.8),
    ];
    for (vector, score) in cases {
        let cvss = Cvss::parse(vector).unwrap_or_else(|err| panic!("{vector}: {err}"));
        assert_eq!(cvss.base_score, Some(score), "{vector}");
        assert_eq!(cvss.vector, vector);
    }
}

#[test]
fn v2_base_scores_match_the_published_ones() {
    let cases = [
        ("AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5),
        ("AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0),
        ("AV:N/AC:M/Au:N/C:N/I:P/A:N", 4.3),
        ("AV:L/AC:L/Au:N/C:C/I:C/A:C", 7.2),
        ("AV:N/AC:L/Au:N/C:N/I:N/A:P", 5.0),
        ("AV:N/AC:M/Au:N/C:P/I:P/A:P", 6.8),
        ("AV:N/AC:L/Au:S/C:P/I:P/A:P", 6.5),
        ("AV:L/AC:L/Au:N/C:P/I:N/A:N", 2.1),
        ("AV:N/AC:H/Au:N/C:P/I:N/A:N", 2.6),
        ("AV:N/AC:L/Au:N/C:N/I:N/A:N", 0.0),
        ("(AV:N/AC:L/Au:N/C:P/I:P/A:P)", 7.5),
        ("CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P/E:F/RL:OF/RC:C", 7.5),
    ];
    for (vector, score) in cases {
        let cvss = Cvss::parse(vector).unwrap_or_else(|err| panic!("{vector}: {err}"));
        assert_eq!((cvss.version, cvss.base_score), (CvssVersion::V2, Some(score)), "{vector}");
    }
}

#[test]
fn v4_vectors_are_checked_but_not_scored() {
    let cvss = Cvss::parse("CVSS:4.0/AV:N/AC:H/AT:P/PR:H/UI:P/VC:N/VI:L/VA:L/SC:N/SI:N/SA:N").expect("valid v4");
    assert_eq!((cvss.version, cvss.base_score), (CvssVersion::V4_0, None));
    assert!(Cvss::parse("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:A/U:Red").is_ok());
    assert_eq!(Cvss::parse("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H"), Err(CvssError::MissingMetric("SC")));
}

#[test]
fn malformed_vectors_are_refused() {
    let full = "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
    let cases = [
        (String::new(), CvssError::UnknownVersion(String::new())),
        ("CVSS:5.0/AV:N".to_owned(), CvssError::UnknownVersion("CVSS:5.0/AV:N".to_owned())),
        ("high".to_owned(), CvssError::UnknownVersion("high".to_owned())),
        ("CVSS:3.1/AV:N".to_owned(), CvssError::MissingMetric("AC")),
        (format!("CVSS:3.1/{full}/AV:N"), CvssError::DuplicateMetric("AV".to_owned())),
        (format!("CVSS:3.1/{full}/FOO:X"), CvssError::UnknownMetric("FOO".to_owned())),
        (format!("CVSS:3.1/{full}/"), CvssError::Malformed(String::new())),
        (
            "CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".to_owned(),
            CvssError::InvalidValue { metric: "AV".to_owned(), value: "Q".to_owned() },
        ),
        // A v2 name in a v3 vector.
        ("CVSS:3.1/AV:N/AC:L/Au:N/C:P/I:P/A:P".to_owned(), CvssError::UnknownMetric("Au".to_owned())),
    ];
    for (vector, error) in cases {
        assert_eq!(Cvss::parse(&vector), Err(error), "{vector}");
    }
}
