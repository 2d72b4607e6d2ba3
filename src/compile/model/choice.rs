//! Settings that take one of a fixed list of values. Each is an enum whose [`Choice::as_str`] is
//! the exact Quadlet/systemd value and whose [`Choice::ALL`] lists every value, in the order the
//! "use one of: …" help shows them.

/// A closed set of values with their written form.
pub trait Choice: Copy + 'static {
    /// Every value, in the order the help lists them.
    const ALL: &'static [Self];

    /// The value as the inventory, Quadlet and systemd write it.
    fn as_str(self) -> &'static str;

    /// The value written as `text`, if there is one.
    fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == text)
    }
}

/// Defines a [`Choice`] enum: each variant with its written form.
macro_rules! choice {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// The exact Quadlet/systemd value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl Choice for $name {
            const ALL: &'static [Self] = &[$($name::$variant,)+];

            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

choice! {
    /// systemd's `Restart=` for a container's service.
    pub enum Restart {
        No => "no",
        OnSuccess => "on-success",
        OnFailure => "on-failure",
        OnAbnormal => "on-abnormal",
        OnWatchdog => "on-watchdog",
        OnAbort => "on-abort",
        Always => "always",
    }
}

choice! {
    /// Quadlet's `Pull=`: when podman pulls the image on start.
    pub enum PullPolicy {
        Always => "always",
        Missing => "missing",
        Never => "never",
        Newer => "newer",
    }
}

choice! {
    /// Quadlet's `HealthOnFailure=`: what podman does when the health check fails.
    pub enum HealthOnFailure {
        None => "none",
        Kill => "kill",
        Restart => "restart",
        Stop => "stop",
    }
}

choice! {
    /// Quadlet's `Driver=` of a network.
    pub enum NetworkDriver {
        Bridge => "bridge",
        Macvlan => "macvlan",
        Ipvlan => "ipvlan",
    }
}

choice! {
    /// `podman auto-update` policy.
    pub enum AutoUpdate {
        Registry => "registry",
        Local => "local",
        None => "none",
    }
}
