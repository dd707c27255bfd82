//! Which route a request takes: the path names a form or a lookup ([`Resource`]), the config
//! says whether it exists ([`Target`]), and the method picks the [`Route`] on it. The methods a
//! target allows (the `Allow` header, the preflight's allowed methods) follow from [`Route::of`].

use lambda_http::http::Method;

use crate::config::{Access, Config, Form, Function, Lookup};
use crate::files::FileRule;

/// What a path names. The path may carry a prefix (an HTTP API stage, `cargo lambda watch`'s
/// `/lambda-url/<function>`): only its last two segments count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    /// `/forms/{form}`
    Form(&'a str),
    /// `/lookups/{lookup}`
    Lookup(&'a str),
    /// `/forms/{form}/files/{input}`: a file for one of the form's file inputs.
    FormFile { form: &'a str, input: &'a str },
    /// `/lookups/{lookup}/files`: a file of a record the lookup finds.
    LookupFiles(&'a str),
}

impl<'a> Resource<'a> {
    pub fn from_path(path: &'a str) -> Option<Self> {
        let segments: Vec<&str> = path.trim_end_matches('/').rsplit('/').take(4).collect();
        let named = |s: &&str| !s.is_empty();
        match segments.as_slice() {
            [input, "files", form, "forms", ..] if named(input) && named(form) => {
                Some(Resource::FormFile { form, input })
            }
            ["files", lookup, "lookups", ..] if named(lookup) => {
                Some(Resource::LookupFiles(lookup))
            }
            [name, "forms", ..] if named(name) => Some(Resource::Form(name)),
            [name, "lookups", ..] if named(name) => Some(Resource::Lookup(name)),
            _ => None,
        }
    }

    /// The function that serves this kind of resource.
    pub fn function(self) -> Function {
        match self {
            Resource::Form(_) | Resource::FormFile { .. } => Function::Submit,
            Resource::Lookup(_) | Resource::LookupFiles(_) => Function::Lookup,
        }
    }

    pub fn name(self) -> &'a str {
        match self {
            Resource::Form(name)
            | Resource::Lookup(name)
            | Resource::FormFile { form: name, .. }
            | Resource::LookupFiles(name) => name,
        }
    }

    /// The form or lookup the config declares under this name.
    pub fn target(self, config: &'a Config) -> Option<Target<'a>> {
        match self {
            Resource::Form(name) => config.forms.get(name).map(Target::Form),
            Resource::Lookup(name) => config.lookups.get(name).map(Target::Lookup),
            Resource::FormFile { form, input } => {
                let form = config.forms.get(form)?;
                let (input, rule) = form.file_inputs().find(|(name, _)| *name == input)?;
                Some(Target::FormFile { form, input, rule })
            }
            Resource::LookupFiles(name) => config.lookups.get(name).map(Target::LookupFiles),
        }
    }
}

/// A declared form or lookup.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Form(&'a Form),
    Lookup(&'a Lookup),
    /// A form's file input.
    FormFile {
        form: &'a Form,
        input: &'a str,
        rule: &'a FileRule,
    },
    LookupFiles(&'a Lookup),
}

impl<'a> Target<'a> {
    pub fn access(self) -> &'a Access {
        match self {
            Target::Form(form) | Target::FormFile { form, .. } => &form.access,
            Target::Lookup(lookup) | Target::LookupFiles(lookup) => &lookup.access,
        }
    }

    /// `Allow`: the methods that have a route on this target, in a fixed order.
    pub fn allowed_methods(self) -> String {
        let candidates = [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ];
        let allowed: Vec<&str> = candidates
            .iter()
            .filter(|method| Route::of(method, self).is_some())
            .map(Method::as_str)
            .collect();
        allowed.join(", ")
    }
}

/// What a request asks of a declared form or lookup.
#[derive(Debug, Clone, Copy)]
pub enum Route<'a> {
    /// `GET /forms/{form}`: the form's public description.
    DescribeForm(&'a Form),
    /// `GET /lookups/{lookup}`: the lookup's public description.
    DescribeLookup(&'a Lookup),
    /// `POST /forms/{form}`: add one record.
    SubmitForm(&'a Form),
    /// `POST /lookups/{lookup}`: find the partner's records.
    LookUp(&'a Lookup),
    /// `POST /forms/{form}/files/{input}`: upload one file, answered with its handle.
    UploadFile {
        form: &'a Form,
        input: &'a str,
        rule: &'a FileRule,
    },
    /// `POST /lookups/{lookup}/files`: re-run the lookup and download one file it shows.
    DownloadFile(&'a Lookup),
    /// `OPTIONS`: a CORS preflight.
    Preflight,
}

impl<'a> Route<'a> {
    /// The route of `method` on `target`, if it has one.
    pub fn of(method: &Method, target: Target<'a>) -> Option<Self> {
        match (method, target) {
            (&Method::OPTIONS, _) => Some(Route::Preflight),
            (&Method::GET, Target::Form(form)) => Some(Route::DescribeForm(form)),
            (&Method::GET, Target::Lookup(lookup)) => Some(Route::DescribeLookup(lookup)),
            (&Method::POST, Target::Form(form)) => Some(Route::SubmitForm(form)),
            (&Method::POST, Target::Lookup(lookup)) => Some(Route::LookUp(lookup)),
            (&Method::POST, Target::FormFile { form, input, rule }) => {
                Some(Route::UploadFile { form, input, rule })
            }
            (&Method::POST, Target::LookupFiles(lookup)) => Some(Route::DownloadFile(lookup)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_found_by_their_last_two_segments() {
        assert_eq!(
            Resource::from_path("/forms/seminar"),
            Some(Resource::Form("seminar"))
        );
        assert_eq!(
            Resource::from_path("/lambda-url/submit/forms/seminar"),
            Some(Resource::Form("seminar"))
        );
        assert_eq!(
            Resource::from_path("/prod/forms/seminar/"),
            Some(Resource::Form("seminar"))
        );
        assert_eq!(
            Resource::from_path("/lookups/deals"),
            Some(Resource::Lookup("deals"))
        );
        assert_eq!(
            Resource::from_path("/prod/forms/jobs/files/cv"),
            Some(Resource::FormFile {
                form: "jobs",
                input: "cv"
            })
        );
        assert_eq!(
            Resource::from_path("/lookups/deals/files"),
            Some(Resource::LookupFiles("deals"))
        );
        // A form or lookup may be named "files".
        assert_eq!(
            Resource::from_path("/forms/files"),
            Some(Resource::Form("files"))
        );
        assert_eq!(
            Resource::from_path("/lookups/files"),
            Some(Resource::Lookup("files"))
        );
        assert_eq!(Resource::from_path("/forms/jobs/files/"), None);
        assert_eq!(Resource::from_path("/forms//files/cv"), None);
        assert_eq!(Resource::from_path("/forms/"), None);
        assert_eq!(Resource::from_path("/other/seminar"), None);
        assert_eq!(Resource::from_path("/"), None);
        assert_eq!(Resource::from_path(""), None);
    }

    #[test]
    fn allowed_methods_follow_from_the_routes() {
        let config = crate::fixtures::config();
        let form = Resource::Form("seminar").target(&config).unwrap();
        let lookup = Resource::Lookup("deals").target(&config).unwrap();
        assert_eq!(form.allowed_methods(), "GET, POST, OPTIONS");
        assert_eq!(lookup.allowed_methods(), "GET, POST, OPTIONS");
        assert!(matches!(
            Route::of(&Method::POST, form),
            Some(Route::SubmitForm(_))
        ));
        assert!(matches!(
            Route::of(&Method::GET, lookup),
            Some(Route::DescribeLookup(_))
        ));
        assert!(Route::of(&Method::DELETE, lookup).is_none());
        assert!(Resource::Form("nope").target(&config).is_none());
    }
}
